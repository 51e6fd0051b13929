"""Helpers and fixtures shared by the test modules. A test module imports from here, never from another test module.

- `server`: the bot over its real HTTP app with a FakeEngine, the stub Bot Connector (`connector` fixture),
  settings from arguments only;
- `served`: the bot over HTTP with the real engine on a small knowledge folder, conversations with it;
- `cards`: reading replies and their Adaptive Cards, the card schema check;
- `network`: free ports, polling /healthz, plain HTTP posts, this machine's outward address;
- `chat_models`: fake LangChain chat models, the OpenAI-compatible stub (`stub` fixture), `no_tiktoken`;
- `documents`: knowledge documents and PDFs written by tests;
- `tokens`: a fake identity provider and forged Bot Framework tokens;
- `imports`: the imports of a Python file, for the layering checks;
- `playground`: the real bot and Microsoft 365 Agents Playground for the end-to-end tests.
Fixtures here are registered for the whole suite by tests/conftest.py; a module's own fixture of the same
name takes precedence.
"""
