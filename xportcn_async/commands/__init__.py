"""The subcommands of the ``xportcn`` command line (see :mod:`xportcn_async.cli`)."""
