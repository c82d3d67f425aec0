#include "link/tls_identity.h"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <vector>

#include "testing/fixtures.h"

namespace hotline::link {
namespace {

struct Endpoint {
  OpenSslPtr<SSL_CTX> ctx;
  std::vector<std::string> refusals;
};

// A context presenting `own` and accepting only `pinned`; `max_version` lets a test pose as an old
// client.
std::unique_ptr<Endpoint> make_endpoint(const crypto::SigningKey* own,
                                        const crypto::PublicKey& pinned, bool server,
                                        int max_version = 0) {
  auto endpoint = std::make_unique<Endpoint>();
  endpoint->ctx.reset(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  if (own != nullptr) {
    TlsIdentity identity = make_tls_identity(*own).value();
    auto* refusals = &endpoint->refusals;
    EXPECT_TRUE(configure_tls_context(
                    endpoint->ctx.get(), identity,
                    [pinned](const crypto::PublicKey& key) { return key == pinned; },
                    [refusals](const std::string& why) { refusals->push_back(why); })
                    .ok());
  }
  if (max_version != 0) {
    SSL_CTX_set_min_proto_version(endpoint->ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(endpoint->ctx.get(), max_version);
  }
  return endpoint;
}

// Runs a handshake between the two contexts over an in-memory BIO pair. Returns whether both sides
// completed it, and the client's view of the server's key.
struct HandshakeResult {
  bool ok = false;
  std::optional<crypto::PublicKey> server_key_seen_by_client;
  std::optional<crypto::PublicKey> client_key_seen_by_server;
};

HandshakeResult handshake(SSL_CTX* client_ctx, SSL_CTX* server_ctx) {
  OpenSslPtr<SSL> client(SSL_new(client_ctx));
  OpenSslPtr<SSL> server(SSL_new(server_ctx));
  BIO* client_bio = nullptr;
  BIO* server_bio = nullptr;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(client.get(), client_bio, client_bio);
  SSL_set_bio(server.get(), server_bio, server_bio);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());
  bool client_done = false;
  bool server_done = false;
  for (int round = 0; round < 50 && !(client_done && server_done); ++round) {
    for (auto [ssl, done] : {std::pair{client.get(), &client_done}, {server.get(), &server_done}}) {
      if (*done) {
        continue;
      }
      int rc = SSL_do_handshake(ssl);
      if (rc == 1) {
        *done = true;
        continue;
      }
      int err = SSL_get_error(ssl, rc);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return {};
      }
    }
  }
  // TLS 1.3 lets the client finish before the server has checked the client's certificate; a
  // read on the client surfaces the server's refusal.
  char byte;
  SSL_write(server.get(), "x", 1);
  if (SSL_read(client.get(), &byte, 1) != 1) {
    ERR_clear_error();
    return {};
  }
  HandshakeResult result;
  result.ok = client_done && server_done;
  if (auto k = peer_station_key(client.get()); k.ok()) {
    result.server_key_seen_by_client = *k;
  }
  if (auto k = peer_station_key(server.get()); k.ok()) {
    result.client_key_seen_by_server = *k;
  }
  return result;
}

class PinnedTls : public ::testing::Test {
 protected:
  crypto::SigningKey alpha = testing::key_from_byte(1);
  crypto::SigningKey bravo = testing::key_from_byte(2);
  crypto::SigningKey mallory = testing::key_from_byte(3);
};

TEST_F(PinnedTls, AClientWithAnotherKeyIsRefusedByTheServer) {
  auto server = make_endpoint(&bravo, alpha.public_key(), true);
  auto client = make_endpoint(&mallory, bravo.public_key(), false);
  EXPECT_FALSE(handshake(client->ctx.get(), server->ctx.get()).ok);
  ASSERT_EQ(server->refusals.size(), 1u);
  EXPECT_NE(server->refusals[0].find("not pinned"), std::string::npos);
}

TEST_F(PinnedTls, AServerWithAnotherKeyIsRefusedByTheClient) {
  auto server = make_endpoint(&mallory, alpha.public_key(), true);
  auto client = make_endpoint(&alpha, bravo.public_key(), false);
  EXPECT_FALSE(handshake(client->ctx.get(), server->ctx.get()).ok);
  EXPECT_EQ(client->refusals.size(), 1u);
}

TEST_F(PinnedTls, AClientWithoutACertificateIsRefused) {
  auto server = make_endpoint(&bravo, alpha.public_key(), true);
  auto client = make_endpoint(nullptr, bravo.public_key(), false);
  EXPECT_FALSE(handshake(client->ctx.get(), server->ctx.get()).ok);
}

TEST_F(PinnedTls, ATls12ClientIsRefused) {
  auto server = make_endpoint(&bravo, alpha.public_key(), true);
  auto client = make_endpoint(&alpha, bravo.public_key(), false, TLS1_2_VERSION);
  EXPECT_FALSE(handshake(client->ctx.get(), server->ctx.get()).ok);
}

TEST_F(PinnedTls, PinnedStationsConnectAndSeeEachOthersKeys) {
  auto server = make_endpoint(&bravo, alpha.public_key(), true);
  auto client = make_endpoint(&alpha, bravo.public_key(), false);
  HandshakeResult result = handshake(client->ctx.get(), server->ctx.get());
  ASSERT_TRUE(result.ok);
  EXPECT_EQ(result.server_key_seen_by_client, bravo.public_key());
  EXPECT_EQ(result.client_key_seen_by_server, alpha.public_key());
  EXPECT_TRUE(server->refusals.empty());
  EXPECT_TRUE(client->refusals.empty());
}

}  // namespace
}  // namespace hotline::link
