"""Dispatch room: the alerts a leader acts on, the supervision orders (督办单) issued from them, and the forecast of
when a region will finish."""
