"""The Bot Framework SDK side of the bot: everything that imports botbuilder, botframework or msrest.

dialogs/ sees a turn as plain data (dialogs/turn.py) and answers with plain replies (dialogs/reply.py);
this package reads the SDK's activities into turns, turns replies into activities, and holds the
activity handler, the dialog stack, conversation-state storage, outgoing delivery and token checks.
Moving to another SDK is a change of this folder only.
"""
