"""Small helpers shared by test modules (pytest puts this folder on the import path)."""

import torch


def lively(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random weights large enough that every layer matters (the released init's first conv,
    std 1e-3, would leave the output nearly bilinear and a wrong layer unnoticed)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.1 if p.shape[0] <= 16 else 0.05)
    return model.eval()
