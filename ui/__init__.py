"""LoRA Studio's desktop UI: Qt widgets and models over the ``app`` core."""
