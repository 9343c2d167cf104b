"""Domain rules shared by the bot, the scheduler, the CLI and the sandbox. Handlers never hold business rules."""
