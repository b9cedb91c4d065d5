// The simulator's hosted checkout: the HTML page behind authorization_url, with Pay and Decline
// buttons (plain forms, no script), and the page shown after either. Thread-safety: pure.
#pragma once

#include <string>
#include <string_view>

#include "state.h"

namespace paystack_sim {

std::string checkout_page(const Transaction& tx, const Customer& customer);
// After Pay or Decline: the outcome, and a link to callback_url?trxref=..&reference=.. if given.
std::string checkout_result_page(const Transaction& tx, std::string_view note);
std::string checkout_not_found_page();

}  // namespace paystack_sim
