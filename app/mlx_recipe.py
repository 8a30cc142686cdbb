"""An MLX-LM config beside a split (``mlx_lm.lora -c train.mlx.yaml``), right by default.

MLX-LM reads only ``train.jsonl`` and ``valid.jsonl`` in a folder (``data``), which is what
a split writes; a single-file download has another name, so it gets no MLX-LM config. Its
defaults do not suit these files (seen with mlx-lm 0.32.2): without ``mask_prompt`` it
trains the system prompt and the client's turns; its ``max_seq_length`` (2,048) leaves a
long line no token to train, and a batch of such lines makes the loss ``nan``; a
``batch_size`` over the validation lines stops it at the first evaluation. With
``mask_prompt`` it trains each line's last reply only, so whole-conversation lines train
one reply each: the config says so, and points to the split with one line per reply
(``split-per-reply``), where each line ends on the one reply it trains.

MLX-LM renders lines with the chat template in the model's folder: the template LoRA Studio
counted with is written beside the config as ``chat_template.jinja``, to be copied there.
"""

from __future__ import annotations

import json

from app import __version__
from app.recipes import CHAT_TEMPLATE_FILE, RecipeInput

MLX_BATCH_SIZE = 4  # MLX-LM's own default, lowered to what the files hold
EPOCHS = 2  # as the other recipes: two passes over the training lines
ADAPTER_PATH = "./lora-output-mlx"


def mlx_batch_size(train_lines: int, eval_lines: int) -> int:
    """MLX-LM's batch size for the files: no more lines than either file holds (it stops
    with "Dataset must have at least batch_size examples" otherwise)."""
    held = [count for count in (train_lines, eval_lines) if count > 0]
    return max(1, min([MLX_BATCH_SIZE, *held]))


def mlx_iterations(train_lines: int, batch_size: int) -> int:
    """MLX-LM counts steps, not epochs: the steps of ``EPOCHS`` passes over the lines."""
    return max(1, -(-EPOCHS * train_lines // batch_size))


def _which_replies(spec: RecipeInput) -> str:
    if spec.last_reply_only:
        return ("# Each line ends on the one reply it trains (one line per reply): with "
                "mask_prompt\n# MLX-LM trains exactly that reply and its end-of-turn token.\n")
    return ("# These lines are whole conversations, and with mask_prompt MLX-LM trains only "
            "the last\n# reply of each line: the earlier replies are never trained (without "
            "mask_prompt it\n# would train the system prompt and the client's turns too). To "
            "train every reply, save\n# the split with one line per reply instead (the "
            "download 'Train / validation split,\n# one line per reply', or lora-studio "
            "export --format split-per-reply).\n")


def _template_steps(spec: RecipeInput) -> str:
    if not spec.chat_template:
        return ("# 1. Convert your base model for MLX (mlx_lm.convert --hf-path <model> "
                "--mlx-path <folder>);\n#    MLX-LM renders lines with that model's own "
                "chat template.\n")
    return ("# 1. Convert your base model for MLX (mlx_lm.convert --hf-path <model> "
            "--mlx-path <folder>)\n"
            f"#    and copy {CHAT_TEMPLATE_FILE} from this folder into that folder, "
            "replacing its own: MLX-LM\n"
            "#    renders lines with the template in the model's folder, and this one is "
            "the template\n"
            f"#    LoRA Studio counted tokens with ({spec.chat_template_label or 'its own'}). "
            "A model's own may differ (Mistral 7B\n"
            "#    v0.3's leaves out the system prompt, and the masked prompt then cuts the "
            "start of each reply).\n")


def mlx_config(spec: RecipeInput) -> str:
    """The MLX-LM config for a split's folder; the model is left for the person to set."""
    batch = mlx_batch_size(spec.train_lines, spec.eval_lines)
    held = (f"at most the {spec.eval_lines:,} validation lines (MLX-LM stops at the first "
            "evaluation otherwise)" if spec.eval_lines else
            f"at most the {spec.train_lines:,} training lines; there is no validation file")
    return (
        f"# MLX-LM config for {spec.training_file!r}, written by LoRA Studio {__version__}.\n"
        f"{_template_steps(spec)}"
        "# 2. Set model to that folder, then run from this folder:\n"
        "#      mlx_lm.lora -c train.mlx.yaml\n"
        f"{_which_replies(spec)}"
        "model: REPLACE_WITH_YOUR_MLX_MODEL_FOLDER\n"
        "train: true\n"
        "data: .   # this folder: MLX-LM reads train.jsonl and valid.jsonl from it\n"
        "fine_tune_type: lora\n"
        "mask_prompt: true   # the loss is on the line's last reply, not on the prompt\n"
        f"max_seq_length: {spec.max_seq_len}   # the training file's length limit (MLX-LM's "
        "2048 would leave long lines nothing to train)\n"
        f"batch_size: {batch}   # {held}\n"
        f"iters: {mlx_iterations(spec.train_lines, batch)}   # {EPOCHS} passes over the "
        f"{spec.train_lines:,} training lines\n"
        "grad_checkpoint: true   # long lines: activations recomputed, not all kept\n"
        f"adapter_path: {json.dumps(ADAPTER_PATH)}\n"
    )


def chat_template_text(spec: RecipeInput) -> str:
    """``chat_template.jinja``: the template LoRA Studio counted tokens with, as it is."""
    return spec.chat_template
