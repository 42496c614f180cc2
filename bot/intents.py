"""Domain intents outside the NLU contract (../shared/intents.md).

The console channel sends cards and shop events as intent triggers (connectors/console.py):
they never go through the classifier, which neither learns nor predicts them — so a pasted
link or order number is read as one of the contract's intents, as any buyer text is.
"""
CONSOLE_EVENTS = frozenset({"enter_shop", "share_product", "share_order", "share_image"})
