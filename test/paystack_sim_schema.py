# paystack_sim_schema: checks the success bodies the simulator sent against the official response
# schemas of Paystack's OpenAPI 3.0 spec (shared/paystack/openapi.yaml), with python3-jsonschema.
# $refs are inlined from the bundled file, OpenAPI's `nullable: true` becomes a JSON Schema
# "null" type, and the few places where the official schema contradicts Paystack's own official
# samples (shared/paystack/samples/api) are relaxed by SCHEMA_FIXES below. Each fix names the
# sample that proves the schema wrong there, and check_fixes_are_justified() verifies that this
# sample really fails the unpatched schema at that spot, so a fix cannot hide a simulator bug
# that Paystack's samples do not show. Used by paystack_sim_checks.py.
import copy
import json
import os
import re
import warnings

import jsonschema
import yaml

warnings.filterwarnings("ignore", category=DeprecationWarning)

# (method, path template) of every operation the simulator implements -> its sample file.
OPERATIONS = {
    ("post", "/transaction/initialize"): "transactions_initialize",
    ("get", "/transaction/verify/{reference}"): "transactions_verify",
    ("get", "/transaction"): "transactions_list",
    ("get", "/transaction/{id}"): "transactions_fetch",
    ("post", "/transferrecipient"): "transfer-recipient_create",
    ("get", "/transferrecipient"): "transfer-recipient_list",
    ("post", "/transfer"): "transfers_initiate",
    ("get", "/transfer"): "transfers_list",
    ("get", "/transfer/verify/{reference}"): "transfers_verify",
    ("post", "/transfer/finalize_transfer"): "transfers_finalize",
    ("post", "/refund"): "refunds_create",
    ("get", "/refund"): "refunds_list",
    ("get", "/refund/{id}"): "refunds_fetch",
    ("post", "/refund/retry_with_customer_details/{id}"): "refunds_retry",
    ("get", "/bank"): "miscellaneous_bank",
    ("get", "/bank/resolve"): "verification_resolve-account",
    ("get", "/balance"): None,
    # No official API sample of a dispute: the charge.dispute.* webhook samples show the object.
    ("get", "/dispute"): None,
    ("get", "/dispute/{id}"): None,
    ("put", "/dispute/{id}/resolve"): None,
}

NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_OBJECT = {"type": ["object", "null"]}
ANY = {}


def _or_cursor_meta(offset_meta):
    """Offset meta as the schema says, or cursor meta {next, previous, perPage} (FACTS 1.3)."""
    cursor = {"type": "object", "required": ["next", "previous", "perPage"],
              "properties": {"next": NULLABLE_STRING, "previous": NULLABLE_STRING,
                             "perPage": {"type": ["integer", "string"]}}}
    return {"anyOf": [offset_meta, cursor]}

# Where the official schema is wrong about what Paystack's official samples show. Each entry:
# operation, location in the response schema (property names separated by "/", "[]" for array
# items), the replacement schema (or a function of the official one), the operation's own official sample when that sample proves
# the schema wrong there (verified by check_fixes_are_justified), and why. Fixes whose evidence
# is another sample or FACTS.md say so in the reason.
SCHEMA_FIXES = [
    # GET /transaction: the official list sample has cursor meta (next/previous/perPage), which
    # the simulator sends with use_cursor=true; the schema knows only offset meta.
    (("get", "/transaction"), "meta", _or_cursor_meta, "transactions_list",
     "the list sample has cursor meta"),
    # GET /transaction/{id}: the schema was written from one filled-in record; the official fetch
    # sample itself has metadata "", null names and phones, which the schema forbids.
    (("get", "/transaction/{id}"), "data/metadata", ANY, "transactions_fetch",
     "metadata is free-form: the fetch sample has \"\" (FACTS 1.7: '', 0, null, object, string)"),
    (("get", "/transaction/{id}"), "data/customer/first_name", NULLABLE_STRING,
     "transactions_fetch", "the fetch sample has first_name null"),
    (("get", "/transaction/{id}"), "data/customer/last_name", NULLABLE_STRING,
     "transactions_fetch", "the fetch sample has last_name null"),
    (("get", "/transaction/{id}"), "data/customer/phone", NULLABLE_STRING, "transactions_fetch",
     "the fetch sample has phone null"),
    (("get", "/transaction/{id}"), "data/customer/international_format_phone", NULLABLE_STRING,
     "transactions_fetch", "the fetch sample has international_format_phone null"),
    (("get", "/transaction/{id}"), "data/customer/metadata", NULLABLE_OBJECT, None,
     "the official verify sample shows the same customer object with metadata null"),
    (("get", "/transaction/{id}"), "data/authorization", {"type": "object"},
     "transactions_fetch", "the fetch sample's authorization lacks the receiver_bank* keys the "
     "schema requires; an unpaid transaction has {} (charge.dispute samples)"),
    # POST /transferrecipient: the create sample has no description and no email at all; the
    # verify sample shows the same recipient object with "email": null.
    (("post", "/transferrecipient"), "data/email", NULLABLE_STRING, "transfer-recipient_create",
     "the create sample has no email (the transfers_verify sample shows email: null)"),
    (("get", "/transferrecipient"), "data/[]/email", NULLABLE_STRING, "transfer-recipient_list",
     "the list sample has no email; transfers_verify shows email: null"),
    # GET /transfer/verify and GET /transfer: the verify sample has recipient email and
    # account_name null, and transferred_at null.
    (("get", "/transfer/verify/{reference}"), "data/recipient/email", NULLABLE_STRING,
     "transfers_verify", "the verify sample has recipient.email null"),
    (("get", "/transfer/verify/{reference}"), "data/recipient/details/account_name",
     NULLABLE_STRING, "transfers_verify", "the verify sample has details.account_name null"),
    (("get", "/transfer"), "data/[]/recipient/email", NULLABLE_STRING, None,
     "same recipient object as transfer verify, whose official sample has email null"),
    (("get", "/transfer"), "data/[]/recipient/details/account_name", NULLABLE_STRING, None,
     "the official list sample (and the verify sample) have details.account_name null"),
    # GET /refund/{id} and GET /refund: the schema comes from a newer record; the official fetch
    # and list samples (and the retry sample's "customer": null) show these differently.
    (("get", "/refund/{id}"), "data/fully_deducted", {"type": ["integer", "boolean"]},
     "refunds_fetch", "the fetch sample has fully_deducted true (the list sample has 1)"),
    (("get", "/refund/{id}"), "data/customer", NULLABLE_OBJECT, None,
     "the official retry sample (the same refund object) has customer null; names and phone "
     "are null for customers who gave none, as every transaction sample shows"),
    (("get", "/refund"), "data/[]/customer", NULLABLE_OBJECT, None,
     "the same refund object as the official retry sample, whose customer is null"),
    (("post", "/refund/retry_with_customer_details/{id}"), "data/customer", NULLABLE_OBJECT,
     "refunds_retry", "the retry sample has customer null"),
    (("post", "/refund/retry_with_customer_details/{id}"), "data/dispute", NULLABLE_OBJECT,
     "refunds_retry", "the retry sample has dispute null"),
    (("post", "/refund/retry_with_customer_details/{id}"), "data/settlement", NULLABLE_OBJECT,
     "refunds_retry", "the retry sample has settlement null"),
    (("get", "/refund"), "data/[]/fully_deducted", {"type": ["integer", "boolean", "null"]},
     "refunds_list", "the list sample has fully_deducted 1 and null"),
    # Unpaid (abandoned) and failed transactions: every schema was written from a successful one.
    (("get", "/transaction"), "data/[]/paidAt", NULLABLE_STRING, None,
     "paid_at and paidAt are null until paid (nullable in the verify schema and sample fields)"),
    (("get", "/transaction"), "data/[]/authorization", {"type": "object"}, None,
     "an unpaid transaction has authorization {} (charge.dispute.* official webhook samples)"),
    (("get", "/transaction/{id}"), "data/paid_at", NULLABLE_STRING, None,
     "null until paid, as the verify schema itself says for the same object"),
    (("get", "/transaction/{id}"), "data/paidAt", NULLABLE_STRING, None,
     "null until paid, as the verify schema itself says for the same object"),
    (("get", "/transaction/{id}"), "data/fees", {"type": ["integer", "null"]}, None,
     "null until paid, as the verify schema says (and the 2016 charge.success sample shows)"),
    (("get", "/transaction/{id}"), "data/ip_address", NULLABLE_STRING, None,
     "no customer ever reached checkout; nullable in the list schema for the same object"),
    (("get", "/transaction/verify/{reference}"), "data/ip_address", NULLABLE_STRING, None,
     "no customer ever reached checkout; nullable in the list schema for the same object"),
    # GET /dispute and GET /dispute/{id}: the official charge.dispute.* webhook samples carry the
    # same dispute object, with the embedded transaction stripped (ip_address null, metadata "",
    # authorization {}) and a customer whose international_format_phone is null.
    (("get", "/dispute/{id}"), "data/transaction/ip_address", NULLABLE_STRING, None,
     "the charge.dispute.* samples (the same dispute object) have transaction.ip_address null"),
    (("get", "/dispute"), "data/[]/transaction/ip_address", NULLABLE_STRING, None,
     "the charge.dispute.* samples (the same dispute object) have transaction.ip_address null"),
    (("get", "/dispute/{id}"), "data/transaction/metadata", ANY, None,
     "metadata is free-form: the charge.dispute.* samples have \"\" (FACTS 1.7)"),
    (("get", "/dispute"), "data/[]/transaction/metadata", ANY, None,
     "metadata is free-form: the charge.dispute.* samples have \"\" (FACTS 1.7)"),
    (("get", "/dispute/{id}"), "data/transaction/authorization", {"type": "object"}, None,
     "the charge.dispute.* samples have transaction.authorization {}"),
    (("get", "/dispute/{id}"), "data/customer/international_format_phone", NULLABLE_STRING, None,
     "the charge.dispute.* samples have customer.international_format_phone null"),
    (("get", "/dispute"), "data/[]/customer/international_format_phone", NULLABLE_STRING, None,
     "the charge.dispute.* samples have customer.international_format_phone null"),
    (("get", "/dispute/{id}"), "data/customer/first_name", NULLABLE_STRING, None,
     "null for customers who gave no name, as every official transaction sample shows"),
    (("get", "/dispute/{id}"), "data/customer/last_name", NULLABLE_STRING, None,
     "null for customers who gave no name, as every official transaction sample shows"),
    (("get", "/dispute/{id}"), "data/customer/phone", NULLABLE_STRING, None,
     "null for customers who gave no phone; the list schema says nullable for the same object"),
    (("get", "/dispute"), "data/[]/customer/first_name", NULLABLE_STRING, None,
     "null for customers who gave no name, as every official transaction sample shows"),
    (("get", "/dispute"), "data/[]/customer/last_name", NULLABLE_STRING, None,
     "null for customers who gave no name, as every official transaction sample shows"),
    (("get", "/dispute"), "data/[]/customer/metadata", NULLABLE_OBJECT, None,
     "the charge.dispute.* samples have customer.metadata {}, the fetch schema says object"),
    # PUT /dispute/{id}/resolve: a declined dispute waits for the bank (resolvedAt null, as the
    # charge.dispute.create sample shows), and attachments/evidence stay null unless given
    # (null in every charge.dispute.* sample; evidence is optional in the request schema).
    (("put", "/dispute/{id}/resolve"), "data/resolvedAt", NULLABLE_STRING, None,
     "null until the bank decides a declined dispute, as in the charge.dispute.create sample"),
    (("put", "/dispute/{id}/resolve"), "data/attachments", NULLABLE_STRING, None,
     "null when no file was uploaded, as in every charge.dispute.* sample"),
    (("put", "/dispute/{id}/resolve"), "data/evidence", {"type": ["integer", "null"]}, None,
     "null when none was given (optional in the request), as in every charge.dispute.* sample"),
    # GET /bank/resolve: the official sample has no bank_id although the schema requires it;
    # the simulator sends it (relaxing is only needed for the sample check).
    (("get", "/bank/resolve"), "data", {"type": "object",
                                        "required": ["account_number", "account_name"]},
     "verification_resolve-account", "the resolve sample has no bank_id"),
    # GET /bank: the sample has no supports_transfer / available_for_direct_debit.
    (("get", "/bank"), "data/[]", {"type": "object"}, "miscellaneous_bank",
     "the bank sample lacks supports_transfer and available_for_direct_debit"),
]


def _resolve(spec, ref):
    node = spec
    for part in ref.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _inline(spec, node, stack=()):
    """Copies `node` with every $ref replaced by its target (a cycle raises)."""
    if isinstance(node, list):
        return [_inline(spec, item, stack) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        ref = node["$ref"]
        if ref in stack:
            raise ValueError("recursive $ref " + ref)
        return _inline(spec, _resolve(spec, ref), stack + (ref,))
    return {key: _inline(spec, value, stack) for key, value in node.items()}


_ANNOTATIONS = {"nullable", "example", "examples", "description", "xml", "externalDocs",
                "deprecated", "readOnly", "writeOnly", "discriminator", "title"}


def _openapi_to_jsonschema(node):
    """OpenAPI 3.0 schema object -> JSON Schema (draft 4): nullable becomes a null type."""
    if isinstance(node, list):
        return [_openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key in _ANNOTATIONS:
            continue
        if key == "properties":  # property names are data, not keywords
            out[key] = {name: _openapi_to_jsonschema(sub) for name, sub in value.items()}
        else:
            out[key] = _openapi_to_jsonschema(value)
    if node.get("nullable") is True:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = types + ["null"]
            if "enum" in out:
                out["enum"] = list(out["enum"]) + [None]
        elif any(k in out for k in ("allOf", "oneOf", "anyOf")):
            out = {"anyOf": [{"type": "null"}, out]}
        # nullable without a type already admits anything, null included
    return out


def _locate(schema, location):
    """(parent, key) of the sub-schema at `location` ("a/b/[]/c")."""
    parent, key, node = None, None, schema
    for part in location.split("/"):
        if part == "[]":
            parent, key = node, "items"
        else:
            props = node.get("properties")
            if props is None or part not in props:
                raise KeyError(location)
            parent, key = props, part
        node = parent[key]
    return parent, key


class Schemas:
    def __init__(self, spec_path, samples_dir):
        with open(spec_path) as f:
            self.spec = yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        self.samples_dir = samples_dir
        self.raw = {}      # (op, status) -> converted official schema
        self.patched = {}  # (op, status) -> with SCHEMA_FIXES applied
        for op in OPERATIONS:
            for status, response in self.spec["paths"][op[1]][op[0]]["responses"].items():
                if not str(status).startswith("2"):
                    continue
                response = _inline(self.spec, response)
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if schema is not None:
                    self.raw[(op, str(status))] = _openapi_to_jsonschema(schema)
        for key, schema in self.raw.items():
            self.patched[key] = copy.deepcopy(schema)
        for op, location, replacement, _, _ in SCHEMA_FIXES:
            for key, schema in self.patched.items():
                if key[0] == op:
                    parent, name = _locate(schema, location)
                    parent[name] = replacement(parent[name]) if callable(replacement) \
                        else replacement

    def operation_of(self, method, path):
        for op in OPERATIONS:
            if op[0] != method.lower():
                continue
            pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", op[1]) + "$"
            if re.match(pattern, path):
                return op
        return None

    def validate(self, op, status, body, patched=True):
        """The first validation error as "location: message", or None."""
        table = self.patched if patched else self.raw
        schema = table.get((op, str(status)))
        if schema is None:
            return f"no {status} schema in the spec"
        validator = jsonschema.Draft4Validator(schema)
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if not errors:
            return None
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(body)"
        return f"{where}: {e.message[:300]}"

    def sample(self, name):
        with open(os.path.join(self.samples_dir, name + ".json")) as f:
            return json.load(f)["200"]["data"]

    def check_fixes_are_justified(self):
        """Each fix that names a sample: the sample contradicts the raw schema at that spot."""
        problems = []
        for op, location, _, sample_name, why in SCHEMA_FIXES:
            if sample_name is None:
                continue
            if sample_name != OPERATIONS[op]:
                problems.append(f"fix {op} {location}: {sample_name} is not this operation's sample")
                continue
            body = self.sample(sample_name)
            status = next(s for (o, s) in self.raw if o == op)
            if not _contradicts(self.raw[(op, status)], location, body):
                problems.append(f"fix {op} {location}: sample {sample_name} does not contradict "
                                f"the schema there ({why})")
        return problems


def _sub(schema, location):
    if not location:
        return schema
    parent, key = _locate(schema, location)
    return parent[key]


def _values_at(body, location):
    values = [body]
    for part in location.split("/") if location else []:
        nxt = []
        for v in values:
            if part == "[]":
                nxt.extend(v if isinstance(v, list) else [])
            elif isinstance(v, dict) and part in v:
                nxt.append(v[part])
        values = nxt
    return values


def _contradicts(schema, location, body):
    """True when `body` breaks `schema` at `location`: a wrong value, or a required key missing
    there (in the parent object, or inside the value)."""
    node = _sub(schema, location)
    values = _values_at(body, location)
    if any(list(jsonschema.Draft4Validator(node).iter_errors(v)) for v in values):
        return True
    parts = location.split("/")
    parent_location, name = "/".join(parts[:-1]), parts[-1]
    if name != "[]" and name in _sub(schema, parent_location).get("required", []):
        if any(isinstance(p, dict) and name not in p for p in _values_at(body, parent_location)):
            return True
    return False
