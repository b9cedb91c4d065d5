// A fast path for decoding stored events: one pass over the text, no document built, for `data`
// in the form the encoder writes it (json_codec.h: compact, every key in declaration order, an
// optional left out when empty). Every fold over the log (rebuild, verify) decodes every event,
// and almost every event is in this form.
//
// Contract: decode_canonical_event() returns either exactly the event decode_event(type, data)
// returns, or nothing, and then the caller decodes through decode_event(), which accepts or
// refuses the text as it always did. It answers nothing, rather than guessing, for anything
// outside the canonical form: whitespace, keys out of order, extra or repeated keys, numbers with
// a fraction or an exponent or more than 18 digits, "-0", \u escapes, control characters, an
// unknown type or enum name, trailing bytes. So what it accepts is a subset of what decode_event()
// accepts, decoded to the same values. Same for decode_canonical_webhook_event().
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>

#include "ledger/events.h"

namespace escrow {

std::optional<Event> decode_canonical_event(std::string_view type, std::string_view data);
std::optional<WebhookEvent> decode_canonical_webhook_event(std::string_view type,
                                                           std::string_view data);

}  // namespace escrow
