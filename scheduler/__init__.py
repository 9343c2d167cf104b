"""APScheduler 3 set-up and the periodic scan. Due work is rows with a due time (reminders, deadlines,
deliveries, photo retries); one job scans them in batches. Never one scheduler job per person."""
