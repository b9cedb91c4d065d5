// Fuzz target: multipart/form-data bodies (api/multipart.cpp) with their limits, and the proof
// upload built on them (api/uploads.cpp, parse_proof_request: the body of POST
// /bookings/:id/complete, files stored in a BlobStore).
//
// Input: one byte picks the mode (three in four: parse_multipart alone, with limits taken from
// the next three bytes, small enough to be reached; else the proof upload); the Content-Type
// header runs to the first '\n'; the rest is the body.
// Properties of parse_multipart:
// - a refusal is 400 invalid_multipart, 413 body_too_large or 415 unsupported_media_type;
// - limits hold: an accepted body is within body_bytes_max and has 1..parts_max parts; the same
//   body with parts_max one less than its part count, or body_bytes_max one less than its size,
//   is refused with 413; with roomier limits it is accepted with the same parts;
// - each part has a non-empty name, a lowercase media type, and data that is a view into the body
//   holding no delimiter;
// - round trip: the parts written out again as multipart (with the same boundary) parse to the
//   same names, file names, media types and bytes.
// Properties of parse_proof_request:
// - a rejected input leaves no state: the blob store holds exactly the files it held before;
// - an accepted upload has non-empty notes of at most proof_notes_bytes_max bytes and at most
//   proof_files_max files, each stored (the store gives back the same bytes under its SHA-256),
//   of at most proof_file_bytes_max bytes, of an accepted type, with a sanitised name (no path,
//   no control character, at most proof_file_name_bytes_max bytes).
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "api/multipart.h"
#include "api/uploads.h"
#include "fuzz_input.h"
#include "ledger/decider.h"
#include "ledger/hash.h"

using namespace escrow;
using namespace escrow::api;
using escrow::fuzz::FuzzInput;

namespace {

void check_refusal(const HttpResponse& response) {
  const bool invalid =
      response.status == 400 && response.body.find("\"invalid_multipart\"") != std::string::npos;
  const bool too_large =
      response.status == 413 && response.body.find("\"body_too_large\"") != std::string::npos;
  const bool media = response.status == 415 &&
                     response.body.find("\"unsupported_media_type\"") != std::string::npos;
  FUZZ_CHECK(invalid || too_large || media);
}

bool same_parts(const std::vector<Part>& a, const std::vector<Part>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](const Part& x, const Part& y) {
    return x.name == y.name && x.filename == y.filename && x.content_type == y.content_type &&
           x.data == y.data;
  });
}

// A quoted-string as multipart.cpp reads it back: '"' and '\' escaped.
std::string quoted_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

std::string write_multipart(const std::vector<Part>& parts, std::string_view boundary) {
  std::string body;
  for (const Part& part : parts) {
    body += "--" + std::string(boundary) + "\r\n";
    body += "Content-Disposition: form-data; name=" + quoted_string(part.name);
    if (part.filename) body += "; filename=" + quoted_string(*part.filename);
    body += "\r\nContent-Type: " + part.content_type + "\r\n\r\n";
    body += std::string(part.data) + "\r\n";
  }
  return body + "--" + std::string(boundary) + "--\r\n";
}

void check_part(const Part& part, std::string_view body, std::string_view delimiter) {
  FUZZ_CHECK(!part.name.empty());
  FUZZ_CHECK(!part.content_type.empty());
  FUZZ_CHECK(std::none_of(part.content_type.begin(), part.content_type.end(),
                          [](char c) { return c >= 'A' && c <= 'Z'; }));
  FUZZ_CHECK(part.data.data() >= body.data() &&
             part.data.data() + part.data.size() <= body.data() + body.size());
  FUZZ_CHECK(part.data.find(delimiter) == std::string_view::npos);
}

void check_limits(std::string_view content_type, std::string_view body,
                  const MultipartLimits& limits, const std::vector<Part>& parts) {
  FUZZ_CHECK(body.size() <= limits.body_bytes_max);
  FUZZ_CHECK(!parts.empty() && parts.size() <= limits.parts_max);
  MultipartLimits fewer = limits;
  fewer.parts_max = parts.size() - 1;
  auto refused = parse_multipart(content_type, body, fewer);
  FUZZ_CHECK(!refused.is_ok() && refused.error().status == 413);
  if (!body.empty()) {
    MultipartLimits smaller = limits;
    smaller.body_bytes_max = body.size() - 1;
    auto too_big = parse_multipart(content_type, body, smaller);
    FUZZ_CHECK(!too_big.is_ok() && too_big.error().status == 413);
  }
  MultipartLimits roomy;
  roomy.header_line_bytes_max = std::max(roomy.header_line_bytes_max, body.size());
  roomy.header_lines_max = std::max(roomy.header_lines_max, limits.header_lines_max);
  auto again = parse_multipart(content_type, body, roomy);
  FUZZ_CHECK(again.is_ok() && same_parts(again.value(), parts));
}

void check_round_trip(std::string_view content_type, const std::vector<Part>& parts) {
  std::optional<HeaderValue> media = parse_header_value(content_type);
  FUZZ_CHECK(media && media->param("boundary"));
  const std::string boundary(*media->param("boundary"));
  const std::string body = write_multipart(parts, boundary);
  MultipartLimits roomy;
  roomy.header_line_bytes_max = body.size();
  roomy.header_lines_max = 2;
  const std::string header = "multipart/form-data; boundary=" + quoted_string(boundary);
  auto again = parse_multipart(header, body, roomy);
  FUZZ_CHECK(again.is_ok() && same_parts(again.value(), parts));
}

void fuzz_multipart(FuzzInput& input) {
  MultipartLimits limits;
  limits.parts_max = 1 + input.pick(8);
  limits.header_line_bytes_max = 8 + 8 * input.pick(32);
  const uint8_t lines_and_size = input.byte();
  limits.header_lines_max = 1 + lines_and_size % 8;
  if (lines_and_size & 0x80) limits.body_bytes_max = 16 * (lines_and_size & 0x78);
  const std::string_view content_type = input.take_until('\n');
  const std::string body(input.rest());  // a copy of its own: the parts point into it

  auto parsed = parse_multipart(content_type, body, limits);
  if (!parsed.is_ok()) {
    check_refusal(parsed.error());
    return;
  }
  const std::vector<Part>& parts = parsed.value();
  const std::string delimiter =
      "\r\n--" + std::string(*parse_header_value(content_type)->param("boundary"));
  for (const Part& part : parts) check_part(part, body, delimiter);
  check_limits(content_type, body, limits, parts);
  check_round_trip(content_type, parts);
}

// ---- the proof upload --------------------------------------------------------------------------

// One store for the whole run, in a directory of its own that goes when the process ends.
class FuzzBlobStore {
 public:
  FuzzBlobStore()
      : dir_((std::filesystem::temp_directory_path() /
              ("multipart-fuzz-blobs-" + std::to_string(::getpid())))
                 .string()) {
    auto opened = BlobStore::open(dir_);
    FUZZ_CHECK(opened.is_ok());
    store_ = std::move(opened).value();
  }
  ~FuzzBlobStore() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  BlobStore& get() { return *store_; }

 private:
  std::string dir_;
  std::unique_ptr<BlobStore> store_;
};

BlobStore& blob_store() {
  static FuzzBlobStore store;
  return store.get();
}

std::size_t stored_files(const BlobStore& blobs) {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(blobs.dir())) {
    count += entry.is_regular_file() ? 1 : 0;
  }
  return count;
}

void check_file(BlobStore& blobs, const ProofFile& file) {
  FUZZ_CHECK(file.size_bytes > 0 && file.size_bytes <= proof_file_bytes_max);
  FUZZ_CHECK(is_accepted_proof_type(file.content_type));
  FUZZ_CHECK(!file.name.empty() && file.name.size() <= proof_file_name_bytes_max);
  FUZZ_CHECK(file.name.find_first_of("/\\\"") == std::string::npos);
  FUZZ_CHECK(std::none_of(file.name.begin(), file.name.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  }));
  auto stored = blobs.get(file.sha256);
  FUZZ_CHECK(stored.is_ok() && stored.value().has_value());
  FUZZ_CHECK(static_cast<int64_t>(stored.value()->size()) == file.size_bytes);
  FUZZ_CHECK(sha256_hex(*stored.value()) == file.sha256);
}

void fuzz_proof_upload(FuzzInput& input) {
  BlobStore& blobs = blob_store();
  HttpRequest request;
  request.method = "POST";
  request.target = "/bookings/bk-1/complete";
  request.headers.set("Content-Type", input.take_until('\n'));
  request.body = std::string(input.rest());
  const std::size_t before = stored_files(blobs);

  auto proof = parse_proof_request(request, blobs);
  if (!proof.is_ok()) {
    FUZZ_CHECK(proof.error().status >= 400 && proof.error().status <= 415);
    FUZZ_CHECK(stored_files(blobs) == before);
    return;
  }
  const SubmitProof& submitted = proof.value();
  FUZZ_CHECK(!submitted.notes.empty() && submitted.notes.size() <= proof_notes_bytes_max);
  FUZZ_CHECK(submitted.files.size() <= static_cast<std::size_t>(proof_files_max));
  FUZZ_CHECK(submitted.attachments.size() <= proof_attachments_max);
  for (const ProofFile& file : submitted.files) check_file(blobs, file);
  for (const auto& entry : std::filesystem::directory_iterator(blobs.dir()))
    std::filesystem::remove_all(entry.path());  // the next input starts from an empty store
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput input(data, size);
  if (input.pick(4) < 3) {
    fuzz_multipart(input);
  } else {
    fuzz_proof_upload(input);
  }
  return 0;
}
