"""Run the TRL recipe LoRA Studio writes beside a download, for two steps, offline.

1. With this project's own Python: a throw-away library imports the real fixtures
   (``tests/fixtures``), puts them in a training file and downloads its JSONL with
   ``recipes=True`` (the TRL script and the Axolotl config are written beside it).
2. A temporary virtual environment gets TRL, transformers, datasets, peft and torch
   (``torch==2.13.0``, the CPU build on this machine's disk).
3. In that environment: a tiny tokenizer is trained on the downloaded file with the
   ``tokenizers`` library (ChatML markers, a chat template that marks assistant turns for
   ``assistant_only_loss``) and a tiny randomly initialised Llama-shaped model is built
   from a config: nothing is downloaded from a model hub.
4. The generated recipe runs with that model for two steps, LoRA included, and the adapter
   it saves must be in its output folder with a checkpoint; run again with ``--resume`` and
   ``--max-steps 4``, it must go on from that checkpoint to step 4. (The tiny tokenizer is
   not the one LoRA Studio counted with, so the recipe says so as it starts.)

Not part of the test command. Usage::

    python scripts/try_trl_recipe.py [--venv DIR] [--keep]

``--venv DIR`` reuses (or creates) an environment there instead of a temporary one.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
PACKAGES = ["torch==2.13.0", "trl", "transformers", "datasets", "accelerate", "peft"]

BUILD_TINY_MODEL = textwrap.dedent('''
    """Train a tiny tokenizer on the file and save it with a tiny random Llama model."""
    import json
    import sys
    from pathlib import Path

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers, decoders
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    data, out = Path(sys.argv[1]), Path(sys.argv[2])
    texts = [m["content"] for raw in data.read_text(encoding="utf-8").splitlines()
             for m in json.loads(raw)["messages"]]
    specials = ["<unk>", "<pad>", "<|im_start|>", "<|im_end|>"]
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=2000, special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    template = (
        "{% for message in messages %}"
        "{{ '<|im_start|>' + message['role'] + '\\\\n' }}"
        "{% if message['role'] == 'assistant' %}"
        "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
        "{% else %}{{ message['content'] + '<|im_end|>' }}{% endif %}"
        "{{ '\\\\n' }}{% endfor %}"
        "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\\\n' }}{% endif %}")
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="<unk>",
                                   pad_token="<pad>", bos_token="<|im_start|>",
                                   eos_token="<|im_end|>", chat_template=template)
    fast.save_pretrained(out)
    config = LlamaConfig(vocab_size=len(fast), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=8192, pad_token_id=fast.pad_token_id,
                         bos_token_id=fast.bos_token_id, eos_token_id=fast.eos_token_id)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out)
    print(f"tiny model: {sum(p.numel() for p in model.parameters()):,} parameters, "
          f"tokenizer: {len(fast)} tokens")
''')


def run(command: list[str], **kwargs: object) -> None:
    print("$", " ".join(str(c) for c in command), flush=True)
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


def download_with_recipes(work: Path) -> Path:
    """Steps 1: a library, a training file of the fixtures, its JSONL with recipes."""
    sys.path.insert(0, str(ROOT))
    from app.export import ExportFormat, export
    from app.importer import import_paths
    from app.library import Library
    from app.trainingfiles import add_conversations

    with Library(work / "library") as library:
        report = import_paths(library, [FIXTURES / "enriched", FIXTURES / "legacy"])
        print(report.summary())
        ids = [row.conversation_id for row in library.summaries()]
        add_conversations(library, "Elena", ids, create=True)
        written = export(library, "Elena", ExportFormat.JSONL, work / "out" / "elena.jsonl",
                         recipes=True)
    for path in written:
        print(f"wrote {path}")
    return work / "out" / "elena.jsonl"


def environment(folder: Path) -> Path:
    python = folder / ("Scripts" if os.name == "nt" else "bin") / "python"
    if not python.exists():
        venv.create(folder, with_pip=True)
    run([str(python), "-m", "pip", "install", "--quiet", *PACKAGES])
    return python


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, help="environment folder to use or create")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="lora-studio-trl-"))
    try:
        data = download_with_recipes(work)
        python = environment(args.venv or work / "venv")
        model = work / "tiny-model"
        builder = work / "build_tiny_model.py"
        builder.write_text(BUILD_TINY_MODEL, encoding="utf-8")
        offline = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                   "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        run([str(python), str(builder), str(data), str(model)], env=offline)
        recipe = data.with_name(data.name + ".trl.py")
        output = work / "lora-output"
        run([str(python), str(recipe), "--model", str(model), "--max-steps", "2",
             "--output", str(output)], env=offline)
        missing = [name for name in ("adapter_model.safetensors", "adapter_config.json",
                                     "tokenizer.json") if not (output / name).exists()]
        if missing:
            print(f"the TRL recipe ran but did not save {', '.join(missing)} in {output}")
            return 1
        checkpoint = output / "checkpoint-2"
        if not checkpoint.is_dir():
            print(f"the TRL recipe saved no checkpoint {checkpoint.name} in {output}")
            return 1
        resumed = subprocess.run(
            [str(python), str(recipe), "--model", str(model), "--max-steps", "4",
             "--output", str(output), "--resume"],
            env=offline, check=True, capture_output=True, text=True).stdout
        print(resumed)
        if (f"going on from {checkpoint}" not in resumed.splitlines()
                or "trained 4 steps" not in resumed):
            print("--resume did not go on from the checkpoint to step 4")
            return 1
        print(f"the TRL recipe ran for two steps, saved its adapter and a checkpoint in "
              f"{output}, and --resume went on from the checkpoint to step 4")
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
