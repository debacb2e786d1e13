"""Evaluation inputs and outputs without torch: ground truth for the interactive protocol, COCO
AP/AR of pre-labels (pycocotools' COCOeval), and the plots (matplotlib, Agg, no pyplot)."""
