// Decoders from a Paystack HTTP response to the typed results of types.h, with no network.
//
// Each decoder takes the whole response: a non-2xx status, or a 2xx whose envelope says
// `status: false`, becomes the ApiError of classify_error(); a 2xx body that is not a readable
// envelope, or whose `data` lacks a field the result needs (ids, reference, status, amount,
// currency), becomes `unexpected` naming what was missing. Everything else is read leniently
// (json_lenient.h), so every quirk in shared/paystack/FACTS.md section 1.7 decodes. The Client
// uses these after each call; tests feed them the official samples.
//
// Thread-safety: pure functions.
#pragma once

#include <vector>

#include "net/http_client.h"
#include "paystack/api_error.h"
#include "paystack/types.h"

namespace escrow::paystack {

ApiResult<InitializedTransaction> decode_initialize(const HttpResponse& response);
ApiResult<Transaction> decode_transaction(const HttpResponse& response);  // verify, fetch
ApiResult<Page<Transaction>> decode_transaction_page(const HttpResponse& response);
ApiResult<Recipient> decode_recipient(const HttpResponse& response);
ApiResult<Page<Recipient>> decode_recipient_page(const HttpResponse& response);
ApiResult<Page<Bank>> decode_bank_page(const HttpResponse& response);
ApiResult<ResolvedAccount> decode_resolved_account(const HttpResponse& response);
ApiResult<Transfer> decode_transfer(const HttpResponse& response);  // initiate, verify, finalize
ApiResult<Page<Transfer>> decode_transfer_page(const HttpResponse& response);
ApiResult<Refund> decode_refund(const HttpResponse& response);  // create, fetch
ApiResult<Page<Refund>> decode_refund_page(const HttpResponse& response);
ApiResult<std::vector<Balance>> decode_balances(const HttpResponse& response);
ApiResult<Dispute> decode_dispute(const HttpResponse& response);  // fetch, resolve
ApiResult<Page<Dispute>> decode_dispute_page(const HttpResponse& response);

}  // namespace escrow::paystack
