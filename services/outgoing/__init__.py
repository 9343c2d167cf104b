"""The one outgoing path: every message sent outside the reply to an update.

- ``outbox``: durable rows written in the caller's transaction and sent after its commit;
- ``pacer``: keeps all sending, over all processes, within Telegram's limits, most urgent first;
- ``priority``: the order in which waiting messages go out.
"""
