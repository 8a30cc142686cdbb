"""Colours of the as-trained view, worked out from the palette like the reader's.

Trained tokens sit on a tint of the palette's highlight in full-contrast text; context is
dimmed (a muted text colour that still reaches WCAG AA); the chat template's own markup
gets a third colour; tokens past the maximum sequence length are struck through on a red
tint. Every text colour is pushed to 4.5:1 against the background it sits on, and
``text_pairs`` lists them so a test can hold that promise in light and dark.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QPalette

from ui.reader_colours import NOT_TRAINED_HUE, blend, is_dark, readable

MARKUP_HUE = QColor("#7c3aed")  # violet: the template's own text, neither client nor reply
GRAPHIC_CONTRAST = 3.0  # lines and bars (WCAG 1.4.11)


@dataclass(frozen=True)
class AsTrainedColours:
    page: QColor
    trained_bg: QColor
    trained_alt_bg: QColor  # every other token, when token boundaries are shown
    trained_text: QColor
    context_alt_bg: QColor
    context_text: QColor
    markup_text: QColor
    lost_bg: QColor
    lost_text: QColor
    left_out_bg: QColor
    left_out_text: QColor
    budget_line: QColor
    bar_trained: QColor
    bar_context: QColor

    def text_pairs(self) -> dict[str, tuple[QColor, QColor]]:
        """Every (text, background) pair the view draws, by name."""
        return {
            "trained": (self.trained_text, self.trained_bg),
            "trained, other token": (self.trained_text, self.trained_alt_bg),
            "context": (self.context_text, self.page),
            "context, other token": (self.context_text, self.context_alt_bg),
            "template markup": (self.markup_text, self.page),
            "template markup, other token": (self.markup_text, self.context_alt_bg),
            "past the limit": (self.lost_text, self.lost_bg),
            "left out of the line": (self.left_out_text, self.left_out_bg),
        }


def as_trained_colours(palette: QPalette) -> AsTrainedColours:
    role = QPalette.ColorRole
    page = palette.color(role.Base)
    text = palette.color(role.Text)
    highlight = palette.color(role.Highlight)
    dark = is_dark(palette)
    trained_bg = blend(page, highlight, 0.30 if dark else 0.20)
    trained_alt_bg = blend(page, highlight, 0.46 if dark else 0.34)
    context_alt_bg = blend(page, text, 0.10)
    dimmed = blend(text, page, 0.42)  # grey, yet still legible on the alternate tint
    lost_bg = blend(page, NOT_TRAINED_HUE, 0.24 if dark else 0.14)
    left_out_bg = blend(page, text, 0.05)
    return AsTrainedColours(
        page=page,
        trained_bg=trained_bg,
        trained_alt_bg=trained_alt_bg,
        trained_text=readable(readable(text, trained_bg), trained_alt_bg),
        context_alt_bg=context_alt_bg,
        context_text=readable(readable(dimmed, page), context_alt_bg),
        markup_text=readable(readable(blend(MARKUP_HUE, text, 0.25 if dark else 0.0), page),
                             context_alt_bg),
        lost_bg=lost_bg,
        lost_text=readable(dimmed, lost_bg),
        left_out_bg=left_out_bg,
        left_out_text=readable(dimmed, left_out_bg),
        budget_line=readable(NOT_TRAINED_HUE, page, GRAPHIC_CONTRAST),
        bar_trained=readable(highlight, page, GRAPHIC_CONTRAST),
        bar_context=blend(page, text, 0.30),
    )
