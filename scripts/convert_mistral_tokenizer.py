"""Make resources/tokenizers/mistral-7b-v0.3/tokenizer.json from Mistral's SentencePiece model.

Run once, by hand, in a throw-away environment (the app never needs these packages):

    python -m venv /tmp/conv && /tmp/conv/bin/pip install transformers sentencepiece protobuf
    pip download --no-deps -d /tmp/mc mistral-common==1.13.1     # then unzip the wheel
    /tmp/conv/bin/python scripts/convert_mistral_tokenizer.py \\
        /tmp/mc/mistral_common/data/mistral_instruct_tokenizer_240323.model.v3 OUT.json

The model file is the tokenizer of Mistral 7B v0.3 (base and instruct), shipped under
Apache-2.0 in the mistral-common wheel. transformers' SentencePiece converter turns it into
a Hugging Face ``tokenizer.json``; control pieces ([INST], <s>, </s>, ...) become special
tokens. The script then checks the result against SentencePiece itself on sample texts.
"""

from __future__ import annotations

import sys

import sentencepiece
from tokenizers import AddedToken
from transformers.convert_slow_tokenizer import SpmConverter, import_protobuf

SAMPLES = [
    "Hello, world! I'm Elena Morales, CFP.\n\nLet's look at your 401(k).",
    "tabs\tand\nnewlines, émoji 😀, 中文, ∑ and $1,250.00",
]
CONTROL, UNKNOWN = 3, 2  # SentencePiece piece types that are never produced from text


def convert(model_path: str, out_path: str) -> None:
    proto = import_protobuf().ModelProto()
    with open(model_path, "rb") as handle:
        proto.ParseFromString(handle.read())
    vocab = {piece.piece: i for i, piece in enumerate(proto.pieces)}
    tokenizer = SpmConverter.build_tokenizer_from_spm_proto(proto, vocab, legacy=False)
    specials = [p.piece for p in proto.pieces if p.type in (CONTROL, UNKNOWN)]
    tokenizer.add_special_tokens([AddedToken(s, special=True, normalized=False)
                                  for s in specials])
    reference = sentencepiece.SentencePieceProcessor(model_file=model_path)
    for text in SAMPLES:
        ours = tokenizer.encode(text, add_special_tokens=False).ids
        if ours != reference.encode(text):
            raise SystemExit(f"conversion differs from SentencePiece on {text!r}")
    tokenizer.save(out_path, pretty=False)


if __name__ == "__main__":
    convert(sys.argv[1], sys.argv[2])
