"""Assembly and entry points of the UEP bot: settings, Bot/Dispatcher factory, middlewares, runners, CLI."""
