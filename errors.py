"""The one exception type that reaches the learner as a message instead of a traceback."""


class PathwayError(Exception):
    """A problem the learner can fix: the message names the thing and what to do.

    The command line prints it as one paragraph and exits with `exit_code`;
    the TUI shows it in a notification or on an error screen.
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
