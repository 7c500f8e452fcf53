"""What makes and measures memchat's models: data sets and generators, training recipes and the training
loop, evaluations.

Imports `assistant` and `memory_store`; nothing imports it but the `cli.py` commands that train or evaluate
(and `bench/`), so the chat runtime never loads a training loop or a data generator.
"""
