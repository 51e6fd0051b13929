"""The Bot Framework SDK side of the bot: everything that imports botbuilder, botframework or msrest.

dialogs/ sees a turn as plain data (dialogs/turn.py) and answers with plain replies (dialogs/reply.py);
this package reads the SDK's activities into turns, turns replies into activities, and holds the
adapter (adapter.py), the protocol over HTTP (http.py: an activity read, authenticated, its turn run and
answered), the activity handler, the dialog stack, conversation-state storage, outgoing delivery and
token checks. app/ wires them into the server without importing the SDK itself.
Moving to another SDK is a change of this folder only.
"""
