"""Draw the application icon (resources/icon.png and resources/icon.ico) with Qt.

Run once after changing the design: python scripts/make_icon.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QImage, QPainter, QPainterPath

ROOT = Path(__file__).resolve().parent.parent


def draw(size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    margin = size * 0.06
    rect = QRectF(margin, margin, size - 2 * margin, size - 2 * margin)
    path = QPainterPath()
    path.addRoundedRect(rect, size * 0.2, size * 0.2)
    painter.fillPath(path, QColor("#0f766e"))
    # Three stacked lines: conversations becoming one training file.
    painter.setPen(Qt.PenStyle.NoPen)
    for i, width in enumerate((0.56, 0.44, 0.5)):
        painter.setBrush(QColor("#ccfbf1" if i < 2 else "#fde68a"))
        top = size * (0.24 + i * 0.14)
        painter.drawRoundedRect(QRectF(size * 0.2, top, size * width, size * 0.08),
                                size * 0.04, size * 0.04)
    painter.setPen(QColor("#ffffff"))
    font = QFont("DejaVu Sans", max(6, int(size * 0.2)))
    font.setBold(True)
    painter.setFont(font)
    painter.drawText(QRectF(0, size * 0.62, size, size * 0.3),
                     Qt.AlignmentFlag.AlignCenter, "LoRA")
    painter.end()
    return image


def main() -> int:
    app = QGuiApplication(sys.argv[:1])
    resources = ROOT / "resources"
    resources.mkdir(exist_ok=True)
    draw(256).save(str(resources / "icon.png"))
    draw(256).save(str(resources / "icon.ico"))
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
