"""The staff web desk: server-rendered pages (aiohttp + Jinja2) over the same services the bot uses.

``web.app.create_web_app`` builds the aiohttp application; ``uep web`` serves it alone, ``uep run`` and
``uep sandbox`` beside the bot when ``web.enabled``.
"""
