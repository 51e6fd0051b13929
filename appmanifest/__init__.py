"""The Teams app package source: the manifest template, the two icons and the builder.

`python -m appmanifest.build --bot-id GUID` writes build/partner-atlas-teams-app.zip (manifest.json,
color.png, outline.png at the zip root), the file a Teams admin uploads. See `appmanifest.build`.

Nothing is imported here, so `python -m appmanifest.build` runs the module once, as __main__.
"""
