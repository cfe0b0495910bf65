"""The encoder's module names and inputs_embeds hook work with PEFT's LoRA and prompt tuning."""

from __future__ import annotations

import torch

from chemtl.models import LORA_TARGET_MODULES, ChemtlConfig, ChemtlForPropertyPrediction


def test_lora_and_prompt_tuning_wrap_the_property_model(composition_batch):
    from peft import LoraConfig, PromptTuningConfig, TaskType, get_peft_model

    torch.manual_seed(0)
    labels = torch.tensor([1.0, 2.0, 3.0, 4.0])
    config = ChemtlConfig.from_size(
        "tiny", "composition", num_labels=1, problem_type="regression", pooling="mean"
    )
    lora = get_peft_model(
        ChemtlForPropertyPrediction(config),
        LoraConfig(task_type=TaskType.SEQ_CLS, target_modules=list(LORA_TARGET_MODULES), r=4),
    )
    trainable = [n for n, p in lora.named_parameters() if p.requires_grad]
    lora_layers = {n.split(".lora_")[0].split("chemtl.")[1] for n in trainable if "lora_" in n}
    assert lora_layers == {f"encoder.layers.{i}.attention.{m}" for i in range(2) for m in ("query", "value")}
    assert all("lora_" in n or ".classifier." in n for n in trainable)
    lora(**composition_batch, labels=labels).loss.backward()

    prompt = get_peft_model(
        ChemtlForPropertyPrediction(config),
        PromptTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=3),
    )
    out = prompt(**composition_batch, labels=labels)
    assert out.logits.shape == (4, 1)
    out.loss.backward()
    assert prompt.prompt_encoder["default"].embedding.weight.grad is not None
