#!/usr/bin/env python3
"""The learning rate of every epoch under the reference's four lr policies, as its
networks.get_scheduler builds them (pytorch-CycleGAN-and-pix2pix master 2a7afba) and its
update_learning_rate steps them at the end of each epoch (plateau with the model's metric, which
BaseModel sets to 0 and no model changes), into tests/fixtures/schedules_reference.json for
src/train/gan/schedule.rs.

    python3 tools/fixtures_schedules.py      (needs torch)
"""
import json
import os
import torch
from torch.optim import lr_scheduler


def get_scheduler(optimizer, opt):
    # networks.get_scheduler, as the reference writes it
    if opt["lr_policy"] == "linear":
        def lambda_rule(epoch):
            return 1.0 - max(0, epoch + opt["epoch_count"] - opt["n_epochs"]) / float(opt["n_epochs_decay"] + 1)
        return lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda_rule)
    if opt["lr_policy"] == "step":
        return lr_scheduler.StepLR(optimizer, step_size=opt["lr_decay_iters"], gamma=0.1)
    if opt["lr_policy"] == "plateau":
        return lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.2, threshold=0.01, patience=5)
    if opt["lr_policy"] == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=opt["n_epochs"], eta_min=0)
    raise NotImplementedError(opt["lr_policy"])


CASES = [
    dict(lr_policy="linear", lr=2e-4, n_epochs=3, n_epochs_decay=4, lr_decay_iters=50),
    dict(lr_policy="linear", lr=2e-4, n_epochs=100, n_epochs_decay=100, lr_decay_iters=50),
    dict(lr_policy="step", lr=2e-4, n_epochs=6, n_epochs_decay=6, lr_decay_iters=3),
    dict(lr_policy="step", lr=2e-4, n_epochs=100, n_epochs_decay=100, lr_decay_iters=50),
    dict(lr_policy="plateau", lr=2e-4, n_epochs=40, n_epochs_decay=30, lr_decay_iters=50),
    dict(lr_policy="plateau", lr=0.1, n_epochs=100, n_epochs_decay=100, lr_decay_iters=50),
    dict(lr_policy="cosine", lr=2e-4, n_epochs=10, n_epochs_decay=15, lr_decay_iters=50),
    dict(lr_policy="cosine", lr=2e-4, n_epochs=7, n_epochs_decay=30, lr_decay_iters=50),
    dict(lr_policy="cosine", lr=2e-4, n_epochs=100, n_epochs_decay=100, lr_decay_iters=50),
]

out = []
for case in CASES:
    opt = dict(case, epoch_count=1)
    p = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([p], lr=opt["lr"], betas=(0.5, 0.999))
    scheduler = get_scheduler(optimizer, opt)
    lrs = []
    # train.py: for epoch in range(epoch_count, n_epochs + n_epochs_decay + 1): …, then
    # model.update_learning_rate() at the end of the epoch
    for epoch in range(opt["epoch_count"], opt["n_epochs"] + opt["n_epochs_decay"] + 1):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if opt["lr_policy"] == "plateau":
            scheduler.step(0)
        else:
            scheduler.step()
    out.append(dict(case, lrs=lrs))

path = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "schedules_reference.json")
with open(path, "w") as f:
    json.dump({"torch": torch.__version__, "cases": out}, f, indent=1)
print(path, [(c["lr_policy"], len(c["lrs"])) for c in out])
