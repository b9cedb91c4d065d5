// The simulator's checkout pages (see checkout.h). Every value from the request is escaped.
#include "checkout.h"

#include "util.h"

namespace paystack_sim {

namespace {

constexpr std::string_view kStyle =
    "body{font-family:sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.4rem 1rem}dt{color:#666}"
    "form{display:inline-block;margin-right:.5rem}"
    "button{font-size:1rem;padding:.6rem 1.4rem;border-radius:.3rem;border:1px solid #999}"
    "#pay{background:#0ba4db;color:#fff;border-color:#0ba4db}";

// "NGN 5,000.00" from 500000 subunits.
std::string format_money(std::string_view currency, int64_t amount) {
  std::string major = std::to_string(amount / 100);
  for (int i = static_cast<int>(major.size()) - 3; i > 0; i -= 3)
    major.insert(static_cast<size_t>(i), ",");
  std::string minor = std::to_string(amount % 100);
  if (minor.size() < 2) minor.insert(0, "0");
  return std::string(currency) + " " + major + "." + minor;
}

std::string page(std::string_view title, const std::string& content) {
  return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
         html_escape(title) + "</title><style>" + std::string(kStyle) + "</style></head><body>" +
         content + "</body></html>\n";
}

std::string details(const Transaction& tx, const Customer& customer) {
  return "<dl><dt>Amount</dt><dd id=\"amount\">" +
         html_escape(format_money(tx.currency, tx.requested_amount)) +
         "</dd><dt>Currency</dt><dd id=\"currency\">" + html_escape(tx.currency) +
         "</dd><dt>Email</dt><dd id=\"email\">" + html_escape(customer.email) +
         "</dd><dt>Reference</dt><dd id=\"reference\">" + html_escape(tx.reference) +
         "</dd><dt>Status</dt><dd id=\"status\">" + std::string(tx_status_name(tx.status)) +
         "</dd></dl>";
}

}  // namespace

std::string checkout_page(const Transaction& tx, const Customer& customer) {
  std::string content = "<h1>Paystack Sim checkout</h1>" + details(tx, customer);
  if (tx.status == TxStatus::success || tx.status == TxStatus::reversed) {
    content += "<p>This transaction has already been paid.</p>";
  } else {
    const std::string base = "/checkout/" + html_escape(tx.access_code);
    content += "<form method=\"post\" action=\"" + base +
               "/pay\"><button id=\"pay\" type=\"submit\">Pay " +
               html_escape(format_money(tx.currency, tx.requested_amount)) +
               "</button></form><form method=\"post\" action=\"" + base +
               "/decline\"><button id=\"decline\" type=\"submit\">Decline</button></form>";
  }
  return page("Paystack Sim checkout", content);
}

std::string checkout_result_page(const Transaction& tx, std::string_view note) {
  const bool paid = tx.status == TxStatus::success;
  std::string content = std::string("<h1>") + (paid ? "Payment successful" : "Payment failed") +
                        "</h1><p id=\"result\">" + html_escape(note) + "</p>";
  if (!tx.callback_url.empty()) {
    // Paystack sends the browser to callback_url?trxref=<ref>&reference=<ref> (FACTS 2.4).
    const char separator = tx.callback_url.find('?') == std::string::npos ? '?' : '&';
    const std::string ref = url_encode(tx.reference);
    std::string url = tx.callback_url + separator + "trxref=" + ref + "&reference=" + ref;
    content +=
        "<p><a id=\"callback\" href=\"" + html_escape(url) + "\">Return to the merchant</a></p>";
  }
  return page(paid ? "Payment successful" : "Payment failed", content);
}

std::string checkout_not_found_page() {
  return page("Checkout not found", "<h1>Checkout not found</h1><p>This link is not valid.</p>");
}

}  // namespace paystack_sim
