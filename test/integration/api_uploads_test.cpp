// Proof uploads: the multipart/form-data parser (api/multipart.h), content sniffing, the
// content-addressed blob store and parse_proof_request (api/uploads.h).
//
// How: multipart bodies are written out byte by byte in the tests (quoted and unquoted
// boundaries, preamble and epilogue, CRLF inside data, missing close delimiter, too many parts,
// oversized header lines). Sniffing runs the real libmagic over real, tiny PNG, JPEG, WebP and
// PDF files built from their bytes here, and over text that claims to be a PNG. The blob store
// writes to a temporary directory; the tests check the on-disk layout, idempotency, that no
// temporary file is left behind and that a path-like or upper-case name is refused. A refused
// proof request must leave the blob store empty.
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "api/multipart.h"
#include "api/uploads.h"
#include "ledger/hash.h"
#include "test/temp_dir.h"

using namespace escrow;
using namespace escrow::api;

namespace {

std::string bytes_of_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return out;
}

std::string le32(uint32_t v) {
  std::string out;
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

// A valid 1x1 RGBA PNG.
const std::string png = bytes_of_hex(
    "89504E470D0A1A0A0000000D49484452000000010000000108060000001F15C4890000000A49444154789C6300"
    "0100000500010D0A2DB40000000049454E44AE426082");
// A JFIF header and end-of-image marker.
const std::string jpeg = bytes_of_hex("FFD8FFE000104A46494600010100000100010000FFD9");
const std::string pdf = "%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";
const std::string webp = [] {
  std::string chunk = "VP8L" + le32(5) + bytes_of_hex("2f00000000") + std::string(1, '\0');
  return "RIFF" + le32(static_cast<uint32_t>(4 + chunk.size())) + "WEBP" + chunk;
}();

struct FormPart {
  std::string name;
  std::optional<std::string> filename;
  std::string content_type;
  std::string data;
};

std::string form_body(const std::string& boundary, const std::vector<FormPart>& parts) {
  std::string body;
  for (const FormPart& part : parts) {
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + part.name + "\"";
    if (part.filename) body += "; filename=\"" + *part.filename + "\"";
    body += "\r\n";
    if (!part.content_type.empty()) body += "Content-Type: " + part.content_type + "\r\n";
    body += "\r\n" + part.data + "\r\n";
  }
  return body + "--" + boundary + "--\r\n";
}

HttpRequest form_request(const std::vector<FormPart>& parts) {
  HttpRequest request;
  request.method = "POST";
  request.target = "/bookings/b1/complete";
  request.headers.set("Content-Type", "multipart/form-data; boundary=XyZ-boundary");
  request.body = form_body("XyZ-boundary", parts);
  return request;
}

HttpRequest json_request(std::string body) {
  HttpRequest request;
  request.method = "POST";
  request.target = "/bookings/b1/complete";
  request.headers.set("Content-Type", "application/json");
  request.body = std::move(body);
  return request;
}

std::string error_code_of(const HttpResponse& response) {
  auto at = response.body.find("\"code\":\"");
  if (at == std::string::npos) return {};
  at += 8;
  return response.body.substr(at, response.body.find('"', at) - at);
}

template <class T>
std::string refusal(const HttpResult<T>& result) {
  REQUIRE_FALSE(result.is_ok());
  return std::to_string(result.error().status) + " " + error_code_of(result.error());
}

std::size_t files_under(const std::string& dir) {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir))
    count += entry.is_regular_file() ? 1 : 0;
  return count;
}

}  // namespace

TEST_CASE("multipart: fields and files come back in order with their data") {
  std::string body = form_body(
      "b0undary", {{"notes", std::nullopt, "", "All done."}, {"files", "a.png", "image/png", png}});
  auto parts = parse_multipart("multipart/form-data; boundary=b0undary", body);
  REQUIRE(parts.is_ok());
  REQUIRE(parts.value().size() == 2);
  CHECK(parts.value()[0].name == "notes");
  CHECK_FALSE(parts.value()[0].filename);
  CHECK(parts.value()[0].content_type == "text/plain");
  CHECK(parts.value()[0].data == "All done.");
  CHECK(parts.value()[1].name == "files");
  CHECK(parts.value()[1].filename == "a.png");
  CHECK(parts.value()[1].content_type == "image/png");
  CHECK(parts.value()[1].data == png);
}

TEST_CASE("multipart: a quoted boundary with spaces, a preamble and an epilogue") {
  std::string boundary = "a quoted:boundary=?";
  std::string body = "This is the preamble.\r\nIgnore it.\r\n" +
                     form_body(boundary, {{"notes", std::nullopt, "", "hi"}}) +
                     "epilogue, also ignored\r\n";
  auto parts =
      parse_multipart("Multipart/Form-Data; charset=utf-8; boundary=\"" + boundary + "\"", body);
  REQUIRE(parts.is_ok());
  REQUIRE(parts.value().size() == 1);
  CHECK(parts.value()[0].data == "hi");
}

TEST_CASE("multipart: CR, LF and near-boundaries inside data are data") {
  std::string data = "line 1\r\nline 2\n\r--not-the-boundary\r\n-- b\r\n\r\n";
  std::string body = form_body("b", {{"notes", std::nullopt, "", data}});
  auto parts = parse_multipart("multipart/form-data; boundary=b", body);
  // "\r\n-- b" is not "\r\n--b": the data survives whole.
  REQUIRE(parts.is_ok());
  CHECK(parts.value()[0].data == data);
}

TEST_CASE("multipart: malformed bodies are refused with 400 invalid_multipart") {
  const std::string type = "multipart/form-data; boundary=b";
  SECTION("no close delimiter") {
    std::string body = "--b\r\nContent-Disposition: form-data; name=\"notes\"\r\n\r\nhi\r\n";
    CHECK(refusal(parse_multipart(type, body)) == "400 invalid_multipart");
  }
  SECTION("the body ends inside a part") {
    std::string body = "--b\r\nContent-Disposition: form-data; name=\"notes\"\r\n\r\nhi";
    CHECK(refusal(parse_multipart(type, body)) == "400 invalid_multipart");
  }
  SECTION("no delimiter at all") {
    CHECK(refusal(parse_multipart(type, "just text")) == "400 invalid_multipart");
  }
  SECTION("no Content-Disposition") {
    std::string body = "--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n";
    CHECK(refusal(parse_multipart(type, body)) == "400 invalid_multipart");
  }
  SECTION("a disposition other than form-data") {
    std::string body = "--b\r\nContent-Disposition: attachment; name=\"x\"\r\n\r\nhi\r\n--b--";
    CHECK(refusal(parse_multipart(type, body)) == "400 invalid_multipart");
  }
  SECTION("a folded header line") {
    std::string body =
        "--b\r\nContent-Disposition: form-data;\r\n name=\"notes\"\r\n\r\nhi\r\n--b--\r\n";
    CHECK(refusal(parse_multipart(type, body)) == "400 invalid_multipart");
  }
  SECTION("a delimiter followed by garbage") {
    std::string body =
        "--bX\r\nContent-Disposition: form-data; name=\"notes\"\r\n\r\nhi\r\n--b--\r\n";
    CHECK(refusal(parse_multipart(type, body)) == "400 invalid_multipart");
  }
  SECTION("an unterminated quoted name") {
    std::string body = "--b\r\nContent-Disposition: form-data; name=\"notes\r\n\r\nhi\r\n--b--";
    CHECK(refusal(parse_multipart(type, body)) == "400 invalid_multipart");
  }
  SECTION("a header line over the limit") {
    std::string body = "--b\r\nContent-Disposition: form-data; name=\"" + std::string(2000, 'n') +
                       "\"\r\n\r\nhi\r\n--b--\r\n";
    CHECK(refusal(parse_multipart(type, body)) == "400 invalid_multipart");
  }
  SECTION("too many header lines") {
    std::string body = "--b\r\nContent-Disposition: form-data; name=\"notes\"\r\n";
    for (int i = 0; i < 9; ++i) body += "X-Extra-" + std::to_string(i) + ": 1\r\n";
    body += "\r\nhi\r\n--b--\r\n";
    CHECK(refusal(parse_multipart(type, body)) == "400 invalid_multipart");
  }
  SECTION("a missing, empty or over-long boundary") {
    std::string body = form_body("b", {{"notes", std::nullopt, "", "hi"}});
    CHECK(refusal(parse_multipart("multipart/form-data", body)) == "400 invalid_multipart");
    CHECK(refusal(parse_multipart("multipart/form-data; boundary=\"\"", body)) ==
          "400 invalid_multipart");
    std::string long_boundary(71, 'b');
    CHECK(refusal(parse_multipart("multipart/form-data; boundary=" + long_boundary,
                                  form_body(long_boundary, {{"n", std::nullopt, "", "x"}}))) ==
          "400 invalid_multipart");
  }
}

TEST_CASE("multipart: a 70-character boundary is accepted") {
  std::string boundary(70, 'q');
  std::string body = form_body(boundary, {{"notes", std::nullopt, "", "x"}});
  auto parts = parse_multipart("multipart/form-data; boundary=" + boundary, body);  // views body
  REQUIRE(parts.is_ok());
  CHECK(parts.value()[0].data == "x");
}

TEST_CASE("multipart: limits on parts and size, and the media type") {
  std::vector<FormPart> many(33, FormPart{"files", "f.png", "image/png", "x"});
  std::string body = form_body("b", many);
  CHECK(refusal(parse_multipart("multipart/form-data; boundary=b", body)) == "413 body_too_large");
  many.resize(32);
  CHECK(parse_multipart("multipart/form-data; boundary=b", form_body("b", many)).is_ok());

  MultipartLimits small;
  small.body_bytes_max = 100;
  std::string big = form_body("b", {{"notes", std::nullopt, "", std::string(200, 'x')}});
  CHECK(refusal(parse_multipart("multipart/form-data; boundary=b", big, small)) ==
        "413 body_too_large");
  CHECK(refusal(parse_multipart("application/json", "{}")) == "415 unsupported_media_type");
}

TEST_CASE("multipart: damaged bodies never crash and never yield data outside the body") {
  const std::string valid = form_body(
      "bb", {{"notes", std::nullopt, "", "Done.\r\n--b"}, {"files", "a.png", "image/png", png}});
  uint32_t seed = 12345;
  auto next = [&] {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
  };
  int parsed = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string body = valid;
    for (int edits = 1 + next() % 4; edits > 0; --edits) {
      std::size_t at = next() % body.size();
      switch (next() % 3) {
        case 0:
          body[at] = "\r\n-\"; =bx"[next() % 9];
          break;
        case 1:
          body.erase(at, 1 + next() % 8);
          break;
        default:
          body.insert(at, std::string(1 + next() % 3, "\r\n-"[next() % 3]));
          break;
      }
      if (body.empty()) body = "-";
    }
    auto parts = parse_multipart("multipart/form-data; boundary=bb", body);
    if (!parts.is_ok()) {
      CHECK(parts.error().status == 400);
      continue;
    }
    ++parsed;
    for (const Part& part : parts.value()) {
      CHECK(part.data.data() >= body.data());
      CHECK(part.data.data() + part.data.size() <= body.data() + body.size());
    }
  }
  CHECK(parsed > 0);  // some damage (in the data, say) leaves a valid body
}

TEST_CASE("sniffing: real files are recognised by their bytes, text is not an image") {
  CHECK(sniff_content_type(png) == "image/png");
  CHECK(sniff_content_type(jpeg) == "image/jpeg");
  CHECK(sniff_content_type(pdf) == "application/pdf");
  CHECK(sniff_content_type(webp) == "image/webp");
  CHECK(sniff_content_type("hello, this is text\n") == "text/plain");
  CHECK_FALSE(is_accepted_proof_type("text/plain"));
  CHECK_FALSE(is_accepted_proof_type("image/gif"));
}

TEST_CASE("blob store: content-addressed, idempotent, atomic, no path traversal") {
  TempDir dir;
  auto opened = BlobStore::open(dir.path + "/blobs/nested");
  REQUIRE(opened.is_ok());
  BlobStore& blobs = *opened.value();

  auto sha = blobs.put(png);
  REQUIRE(sha.is_ok());
  CHECK(sha.value() == sha256_hex(png));
  std::string path = dir.path + "/blobs/nested/" + sha.value().substr(0, 2) + "/" + sha.value();
  CHECK(std::filesystem::file_size(path) == png.size());

  auto again = blobs.put(png);
  REQUIRE(again.is_ok());
  CHECK(again.value() == sha.value());
  CHECK(files_under(dir.path) == 1);  // one file: no duplicate, no temporary left behind

  auto got = blobs.get(sha.value());
  REQUIRE(got.is_ok());
  REQUIRE(got.value());
  CHECK(*got.value() == png);

  auto missing = blobs.get(sha256_hex("never stored"));
  REQUIRE(missing.is_ok());
  CHECK_FALSE(missing.value());

  for (std::string bad :
       {std::string("../../../../etc/passwd"), std::string("ab/../cd"), std::string(64, 'A'),
        sha.value().substr(0, 63), sha.value() + "0", "/" + sha.value().substr(1), std::string()}) {
    auto refused = blobs.get(bad);
    REQUIRE_FALSE(refused.is_ok());
    CHECK(refused.status().code() == StatusCode::invalid_argument);
  }
}

TEST_CASE("blob store: a truncated file under a hash is replaced on the next put") {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path);
  REQUIRE(blobs.is_ok());
  std::string sha = sha256_hex(pdf);
  std::filesystem::create_directories(dir.path + "/" + sha.substr(0, 2));
  {
    std::FILE* f = std::fopen((dir.path + "/" + sha.substr(0, 2) + "/" + sha).c_str(), "wb");
    REQUIRE(f);
    std::fputs("%PDF", f);
    std::fclose(f);
  }
  REQUIRE(blobs.value()->put(pdf).is_ok());
  auto got = blobs.value()->get(sha);
  REQUIRE(got.is_ok());
  CHECK(*got.value() == pdf);
}

TEST_CASE("file names are sanitised") {
  CHECK(sanitize_file_name("../../etc/passwd.png", "f") == "passwd.png");
  CHECK(sanitize_file_name("C:\\Users\\ada\\site photo.jpg", "f") == "site photo.jpg");
  CHECK(sanitize_file_name("..", "file-1") == "file-1");
  CHECK(sanitize_file_name("", "file-2") == "file-2");
  CHECK(sanitize_file_name(".hidden", "f") == "hidden");
  CHECK(sanitize_file_name("a\r\nb\x01\"c.pdf", "f") == "a__b__c.pdf");
  CHECK(sanitize_file_name("bad\xff\xfeutf8.png", "f") == "bad__utf8.png");
  CHECK(sanitize_file_name("réçu.pdf", "f") == "réçu.pdf");
  std::string long_name;
  for (int i = 0; i < 150; ++i) long_name += "é";  // 300 bytes of 2-byte characters
  std::string cut = sanitize_file_name(long_name, "f");
  CHECK(cut.size() == 200);
  CHECK(cut == long_name.substr(0, 200));
}

TEST_CASE("proof request: files are sniffed, stored and described") {
  TempDir dir;
  auto blobs = BlobStore::open(dir.path);
  REQUIRE(blobs.is_ok());
  // Declared types lie on purpose: the sniffed type is what counts.
  HttpRequest request = form_request({{"notes", std::nullopt, "", "Fixed the sink."},
                                      {"files", "../../before.png", "image/gif", png},
                                      {"files", "after.jpg", "application/octet-stream", jpeg},
                                      {"file", "invoice.pdf", "", pdf},
                                      {"files", "", "application/octet-stream", ""}});
  auto proof = parse_proof_request(request, *blobs.value());
  REQUIRE(proof.is_ok());
  CHECK(proof.value().notes == "Fixed the sink.");
  REQUIRE(proof.value().files.size() == 3);  // the empty file input is skipped
  const ProofFile& first = proof.value().files[0];
  CHECK(first.sha256 == sha256_hex(png));
  CHECK(first.content_type == "image/png");
  CHECK(first.name == "before.png");
  CHECK(first.size_bytes == static_cast<int64_t>(png.size()));
  CHECK(proof.value().files[1].content_type == "image/jpeg");
  CHECK(proof.value().files[2].content_type == "application/pdf");
  CHECK(proof.value().files[2].name == "invoice.pdf");
  auto stored = blobs.value()->get(proof.value().files[1].sha256);
  REQUIRE(stored.is_ok());
  REQUIRE(stored.value());
  CHECK(*stored.value() == jpeg);
}

TEST_CASE("proof request: refusals name the problem and store nothing") {
  TempDir dir;
  auto opened = BlobStore::open(dir.path);
  REQUIRE(opened.is_ok());
  BlobStore& blobs = *opened.value();
  const FormPart notes{"notes", std::nullopt, "", "Done."};

  SECTION("a .png that is text") {
    auto result = parse_proof_request(
        form_request({notes,
                      {"files", "good.png", "image/png", png},
                      {"files", "photo.png", "image/png", "I am not a picture\n"}}),
        blobs);
    CHECK(refusal(result) == "415 unsupported_file_type");
    CHECK(result.error().body.find("photo.png") != std::string::npos);
  }
  SECTION("eleven files") {
    std::vector<FormPart> parts{notes};
    for (int i = 0; i < 11; ++i) parts.push_back({"files", "p.png", "image/png", png});
    CHECK(refusal(parse_proof_request(form_request(parts), blobs)) == "400 too_many_files");
  }
  SECTION("a file over 10 MiB") {
    std::string huge = png + std::string(10 * 1024 * 1024, '\0');
    CHECK(refusal(parse_proof_request(
              form_request({notes, {"files", "huge.png", "image/png", huge}}), blobs)) ==
          "413 file_too_large");
  }
  SECTION("no notes, empty notes, notes too long, notes that are not UTF-8") {
    FormPart file{"files", "p.png", "image/png", png};
    CHECK(refusal(parse_proof_request(form_request({file}), blobs)) == "400 invalid_field");
    CHECK(refusal(parse_proof_request(form_request({{"notes", std::nullopt, "", ""}, file}),
                                      blobs)) == "400 invalid_field");
    CHECK(refusal(parse_proof_request(
              form_request({{"notes", std::nullopt, "", std::string(5001, 'n')}, file}), blobs)) ==
          "400 invalid_field");
    CHECK(refusal(parse_proof_request(
              form_request({{"notes", std::nullopt, "", "bad \xc3\x28"}, file}), blobs)) ==
          "400 invalid_field");
  }
  SECTION("two notes fields, an unknown field, an empty named file") {
    CHECK(refusal(parse_proof_request(form_request({notes, notes}), blobs)) == "400 invalid_field");
    CHECK(refusal(parse_proof_request(form_request({notes, {"comment", std::nullopt, "", "x"}}),
                                      blobs)) == "400 invalid_field");
    CHECK(refusal(parse_proof_request(
              form_request({notes, {"files", "empty.png", "image/png", ""}}), blobs)) ==
          "400 invalid_field");
  }
  SECTION("a body that is neither multipart nor JSON") {
    HttpRequest request = form_request({notes});
    request.headers.set("Content-Type", "text/plain");
    CHECK(refusal(parse_proof_request(request, blobs)) == "415 unsupported_media_type");
  }
  CHECK(files_under(dir.path) == 0);
}

TEST_CASE("proof request: JSON notes and attachment links") {
  TempDir dir;
  auto opened = BlobStore::open(dir.path);
  REQUIRE(opened.is_ok());
  BlobStore& blobs = *opened.value();

  const std::string body = R"({"notes":"See the photos.","attachments":[)"
                           R"({"url":"https://photos.example.com/a?b=1"},)"
                           R"({"url":"HTTP://example.org"}]})";
  auto proof = parse_proof_request(json_request(body), blobs);
  REQUIRE(proof.is_ok());
  CHECK(proof.value().notes == "See the photos.");
  REQUIRE(proof.value().attachments.size() == 2);
  CHECK(proof.value().attachments[0].url == "https://photos.example.com/a?b=1");
  CHECK(proof.value().files.empty());

  auto notes_only = parse_proof_request(json_request(R"({"notes":"Done."})"), blobs);
  REQUIRE(notes_only.is_ok());
  CHECK(notes_only.value().attachments.empty());

  std::string eleven;
  for (int i = 0; i < 11; ++i) eleven += std::string(i ? "," : "") + R"({"url":"https://x.io"})";
  for (std::string body :
       {std::string(R"({"attachments":[]})"), std::string(R"({"notes":""})"),
        R"({"notes":"x","attachments":[)" + eleven + "]}",
        std::string(R"({"notes":"x","attachments":[{"url":"ftp://x.io/f"}]})"),
        std::string(R"j({"notes":"x","attachments":[{"url":"javascript:alert(1)"}]})j"),
        std::string(R"({"notes":"x","attachments":[{"url":"https://"}]})"),
        std::string(R"({"notes":"x","attachments":[{"url":"https://a b.io"}]})"),
        R"({"notes":"x","attachments":[{"url":"https://x.io/)" + std::string(2040, 'p') + "\"}]}",
        std::string(R"({"notes":"x","attachments":[{"url":"https://x.io","extra":1}]})"),
        std::string(R"({"notes":"x","attachments":{"url":"https://x.io"}})"),
        std::string(R"({"notes":"x","files":[]})")}) {
    INFO(body);
    CHECK(refusal(parse_proof_request(json_request(body), blobs)) == "400 invalid_field");
  }
  CHECK(refusal(parse_proof_request(json_request("{\"notes\":"), blobs)) == "400 invalid_json");
}
