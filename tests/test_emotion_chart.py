"""The reader's intensity chart names the planned arc as the rest of the window does, at
every width: narrow, it drops the levels, never the names."""

from __future__ import annotations

from app.reading import ArcPlan
from ui.emotion_chart import EmotionArcChart


def test_the_plan_keeps_its_names_when_the_chart_is_narrow(qtbot):
    chart = EmotionArcChart()
    qtbot.addWidget(chart)
    chart.set_data([(1, 0.8), (3, 0.5)], ArcPlan("shame", "acceptance", 0.8, 0.3))
    metrics = chart.fontMetrics()
    full = chart.plan_label(10_000)
    assert full == "planned: Shame 0.8 → Acceptance 0.3"
    names_only = "planned: Shame → Acceptance"
    assert chart.plan_label(metrics.horizontalAdvance(names_only) + 2) == names_only
    squeezed = chart.plan_label(metrics.horizontalAdvance("planned: Shame → Acc"))
    assert squeezed.startswith("planned: Sh") and squeezed.endswith("…")
    assert "shame" not in squeezed
    assert chart.plan_label(0) == ""
