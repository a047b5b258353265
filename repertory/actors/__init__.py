"""Entity actors: refs, mailboxes, supervision, the event-sourced runtime."""
