"""Write a tiny Llama checkpoint for the real-engine tests: ``python tiny_llama.py OUT MAX_LEN``.

Run with the vLLM venv's Python (it has torch, tokenizers and transformers); the project's
venv needs none of them. Nothing comes from a model hub: the tokenizer is a byte-level BPE
trained here on one sentence, the weights are random, and the chat template is two lines.
The shape is the smallest vLLM's CPU kernels serve, with tensor parallelism over two:
- head_dim 32 (hidden 128 / 4 heads): vLLM's CPU attention fails at the first request with 16,
  after /health already answers 200;
- 4 query heads and 2 key/value heads, so both split evenly over two ranks;
- max_position_embeddings = the rendered --max-model-len (MAX_LEN): vLLM refuses a longer
  context than the model's own.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)
TRAINING_TEXT = "reply with one short sentence saying hello"


def build_tokenizer() -> PreTrainedTokenizerFast:
    """A byte-level BPE: any prompt tokenizes, so requests never fail on unknown text."""
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        special_tokens=["<unk>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator([TRAINING_TEXT] * 4, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, unk_token="<unk>", bos_token="<s>", eos_token="</s>",
        pad_token="</s>",
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_model(out: Path, max_len: int) -> None:
    """Save tokenizer, config and random weights to ``out`` (about 1.5 MB)."""
    tokenizer = build_tokenizer()
    tokenizer.save_pretrained(out)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=max_len, bos_token_id=1, eos_token_id=2, pad_token_id=2,
    )
    LlamaForCausalLM(config).save_pretrained(out)


if __name__ == "__main__":
    build_model(Path(sys.argv[1]), int(sys.argv[2]))
