"""The library's errors: bad data or models, or an input not built yet, each message naming the
file or model at fault and what to do (bad params are `koen.config`'s own ParamsError, as config
imports nothing of the library). Stages turn both into one line (`stages.run`), not a traceback;
anything else is a bug and keeps its traceback."""


class KoenError(Exception):
    """A problem with the user's params, data or models, as opposed to a bug."""


class MissingError(KoenError):
    """An input a stage needs is not there yet; the message says how to build it."""
