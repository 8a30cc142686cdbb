"""A light and a dark palette (Fusion style), for snapshots and the reader's contrast tests.

The app itself follows the system palette; these two stand in for "a light desktop" and
"a dark desktop" wherever one has to be chosen on purpose.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QStyleFactory

Role = QPalette.ColorRole
DARK = {
    Role.Window: "#2b2b2b", Role.WindowText: "#e8e8e8", Role.Base: "#1f1f1f",
    Role.AlternateBase: "#282828", Role.ToolTipBase: "#2b2b2b", Role.ToolTipText: "#e8e8e8",
    Role.PlaceholderText: "#9a9a9a", Role.Text: "#e8e8e8", Role.Button: "#353535",
    Role.ButtonText: "#e8e8e8", Role.BrightText: "#ff6b6b", Role.Link: "#6cb4ff",
    Role.Highlight: "#3d8ee8", Role.HighlightedText: "#ffffff", Role.Light: "#4a4a4a",
    Role.Midlight: "#3f3f3f", Role.Mid: "#2f2f2f", Role.Dark: "#1a1a1a", Role.Shadow: "#000000",
}
DISABLED_TEXT = "#7a7a7a"


def light_palette() -> QPalette:
    style = QStyleFactory.create("Fusion")
    return style.standardPalette()


def dark_palette() -> QPalette:
    palette = QPalette()
    for role, colour in DARK.items():
        palette.setColor(role, QColor(colour))
    for role in (Role.Text, Role.WindowText, Role.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(DISABLED_TEXT))
    return palette
