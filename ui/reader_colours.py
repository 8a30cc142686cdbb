"""The reader's colours, worked out from the widget palette so they read in light and dark.

Every tint is a blend of two palette colours (a hue only ever nudges a palette colour), and
every text colour is checked against the background it sits on and pushed towards black or
white until it reaches WCAG AA contrast (4.5:1). ``text_pairs`` lists those pairs so a test
can hold the promise for any palette.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette

MIN_CONTRAST = 4.5
# Hues that only tint palette colours: they never decide a text colour on their own.
WARNING_HUE = QColor("#d97706")
NOT_TRAINED_HUE = QColor("#dc2626")
POSITIVE_HUE = QColor("#16a34a")
NEGATIVE_HUE = QColor("#dc2626")
MIXED_HUE = QColor("#ca8a04")


def luminance(colour: QColor) -> float:
    """WCAG relative luminance."""
    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return (0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF())
            + 0.0722 * channel(colour.blueF()))


def contrast(first: QColor, second: QColor) -> float:
    """WCAG contrast ratio, 1 to 21."""
    high, low = sorted((luminance(first), luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def blend(base: QColor, tint: QColor, share: float) -> QColor:
    """``share`` of ``tint`` over ``base``."""
    keep = 1 - share
    return QColor.fromRgbF(base.redF() * keep + tint.redF() * share,
                           base.greenF() * keep + tint.greenF() * share,
                           base.blueF() * keep + tint.blueF() * share)


def readable(text: QColor, background: QColor, minimum: float = MIN_CONTRAST) -> QColor:
    """``text``, moved towards black or white (whichever contrasts more with the
    background) just far enough to reach ``minimum``."""
    if contrast(text, background) >= minimum:
        return QColor(text)
    target = QColor("black") if luminance(background) > 0.18 else QColor("white")
    for step in range(1, 21):
        candidate = blend(text, target, step / 20)
        if contrast(candidate, background) >= minimum:
            return candidate
    return target


def is_dark(palette: QPalette) -> bool:
    return luminance(palette.color(QPalette.ColorRole.Base)) < 0.2


@dataclass(frozen=True)
class ReaderColours:
    page: QColor
    text: QColor
    muted: QColor  # secondary text on the page
    client_bubble: QColor
    client_label: QColor
    consultant_bubble: QColor
    consultant_label: QColor
    chip: QColor  # emotion chips sit on either bubble; their own background is opaque
    chip_text: QColor
    bar_track: QColor
    bar_fill: QColor
    positive: QColor
    negative: QColor
    mixed: QColor
    warning_bg: QColor
    warning_text: QColor
    badge_bg: QColor
    badge_text: QColor
    chart_line: QColor
    chart_plan: QColor

    def text_pairs(self) -> dict[str, tuple[QColor, QColor]]:
        """Every (text, background) pair the reader draws, by name."""
        return {
            "text on page": (self.text, self.page),
            "muted on page": (self.muted, self.page),
            "client text": (self.text, self.client_bubble),
            "client label": (self.client_label, self.client_bubble),
            "muted on client": (self.muted_on(self.client_bubble), self.client_bubble),
            "consultant text": (self.text, self.consultant_bubble),
            "consultant label": (self.consultant_label, self.consultant_bubble),
            "muted on consultant": (self.muted_on(self.consultant_bubble),
                                    self.consultant_bubble),
            "chip": (self.chip_text, self.chip),
            "positive chip": (self.positive, self.chip),
            "negative chip": (self.negative, self.chip),
            "mixed chip": (self.mixed, self.chip),
            "warning": (self.warning_text, self.warning_bg),
            "not trained badge": (self.badge_text, self.badge_bg),
            "chart labels": (self.muted, self.page),
            "chart plan label": (self.chart_plan, self.page),
        }

    def muted_on(self, background: QColor) -> QColor:
        return readable(self.muted, background)

    def valence(self, valence: str | None) -> QColor:
        """Chip text colour for a valence such as ``negative`` or ``mixed_positive``."""
        text = (valence or "").lower()
        if "mixed" in text or "neutral" in text:
            return self.mixed
        if "negative" in text:
            return self.negative
        if "positive" in text:
            return self.positive
        return self.chip_text


def reader_colours(palette: QPalette) -> ReaderColours:
    role = QPalette.ColorRole
    page = palette.color(role.Base)
    text = readable(palette.color(role.Text), page)
    highlight = palette.color(role.Highlight)
    client_bubble = blend(page, palette.color(role.Text), 0.07)
    consultant_bubble = blend(page, highlight, 0.16)
    chip = blend(page, palette.color(role.Text), 0.13)
    warning_bg = blend(page, WARNING_HUE, 0.22)
    badge_bg = blend(page, NOT_TRAINED_HUE, 0.28)
    muted = readable(blend(text, page, 0.35), client_bubble)
    return ReaderColours(
        page=page,
        text=text,
        muted=readable(muted, page),
        client_bubble=client_bubble,
        client_label=readable(palette.color(role.Text), client_bubble),
        consultant_bubble=consultant_bubble,
        consultant_label=readable(highlight, consultant_bubble),
        chip=chip,
        chip_text=readable(text, chip),
        bar_track=blend(chip, palette.color(role.Text), 0.18),
        bar_fill=highlight,
        positive=readable(POSITIVE_HUE, chip),
        negative=readable(NEGATIVE_HUE, chip),
        mixed=readable(MIXED_HUE, chip),
        warning_bg=warning_bg,
        warning_text=readable(text, warning_bg),
        badge_bg=badge_bg,
        badge_text=readable(text, badge_bg),
        chart_line=highlight,
        chart_plan=readable(WARNING_HUE, page),
    )
