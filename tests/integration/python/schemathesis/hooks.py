"""Schemathesis hooks for agentrace's API: the rules between parameters that an OpenAPI
document cannot state (each parameter's own grammar is in the document, as patterns).

Schemathesis generates each query parameter on its own. Four rules of the API join two
parameters, and a request that breaks one is refused with 400 as documented:

- `to` must be after `from`;
- a `cursor` continues the listing it came from: a page of another `sort` or `order` is refused;
- a series (`bucket` of /overview and /tools, `step` of /metrics/{name}) has at most 10,000
  points over the range;
- a budget check estimated from a prompt or a token count needs a `model` the price book knows
  (the document cannot list every priced model).

Only failures of the check "a schema-valid request is accepted" whose 400 names one of these
rules are dropped; any other refusal of a valid request, and every other check, still fails
the run. Loaded with SCHEMATHESIS_HOOKS=hooks (this directory on PYTHONPATH).
"""

import json

import schemathesis

# (parameter, words of the server's message) for each rule; see the module's docs.
JOINT_RULES = (
    ("to", "must be after `from`"),
    ("cursor", "pass back a cursor returned by the same kind of query"),
    ("bucket", "too long (at most"),
    ("step", "too long (at most"),
    ("model", "no price known"),
)


def breaks_a_joint_rule(response) -> bool:
    if response.status_code != 400:
        return False
    try:
        message = json.loads(response.text)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return False
    return any(
        f"`{parameter}`" in message and words in message for parameter, words in JOINT_RULES
    )


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    # ST202: "Schema-valid request rejected" (positive_data_acceptance).
    if failure.code == "ST202" and breaks_a_joint_rule(response):
        return False
    return True
