"""Before the aid (issue #19): the aid catalog and packages at standard prices, candidates, the TKSK's
assessment, Dinas Sosial's decision, the hand-over and its record (BAST), and the pipeline figures.

One lifecycle: candidate → assessed → approved / not approved → package set → handed over (→ monitored).
``lifecycle`` moves a candidate from stage to stage and writes the event with its time and actor.
"""
