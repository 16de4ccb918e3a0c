"""The unified form (一表申报) as one model for every channel: the parents' online form,
the counter's entry form and the printed 联办申请表 are rendered from it. Pure: no Django."""
