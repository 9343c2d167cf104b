"""Personal data under UU PDP 27/2022: people's requests (see, correct, restrict, delete, withdraw consent) with
3×24-hour deadlines, what is held about a person, retention and anonymisation, breaches and their notices.
The record of processing is docs/privacy.md."""
