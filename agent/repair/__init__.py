"""The model-free repair engine's candidate generators and ranking, as pure functions of source.

``candidates_at(path, source, line, package)`` proposes fixes at one suspicious line from every
family (see ``engine``); ``rank.order`` puts them in the order worth validating, ``rank.unique``
drops duplicates and code that does not compile, ``rank.choose`` picks among plausible fixes.
The search policy (``agent.policies.search``) validates them in the sandbox.
"""

from agent.repair.engine import candidates_at, problem_locations
from agent.repair.site import Candidate, Site

__all__ = ["Candidate", "Site", "candidates_at", "problem_locations"]
