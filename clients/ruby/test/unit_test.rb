# What the gem does without a server: the table's every operation is a method, the
# original docs' spellings work, and the three signature checks accept what PushGuard
# signs and refuse anything else.
require "minitest/autorun"
require_relative "../lib/PushGuard"

class UnitTest < Minitest::Test
  def test_every_operation_of_the_document_is_a_method_of_its_resource
    assert_operator PushGuard::OPERATIONS.size, :>, 60
    PushGuard::OPERATIONS.each do |operation|
      resource = PushGuard.resource(operation[:resource])
      assert resource.respond_to?(operation[:name]), "#{operation[:id]}: #{resource}.#{operation[:name]}"
      assert operation[:path].start_with?("/api/v2/"), operation[:id]
    end
  end

  def test_the_original_docs_spellings_work
    assert_same PushGuard::Blacklists, PushGuard::Blacklist
    assert_same PushGuard::Categories, PushGuard::Category
    assert_same PushGuard::Payments, PushGuard::Pay
    assert_same PushGuard::Webhooks::Logs, PushGuard::Webhook::Log
    assert_same PushGuard::Webhooks::Endpoints, PushGuard::Webhook::Endpoints
    assert PushGuard::Orders.respond_to?(:List)
    %i[list retrieve create update destroy].each do |name|
      assert PushGuard::Products.respond_to?(name), name
    end
  end

  def test_a_call_without_its_ids_is_refused_before_anything_is_sent
    client = PushGuard::Client.new(api_key: "pg_test_x", api_base: "http://127.0.0.1:9")
    assert_raises(ArgumentError) { PushGuard::Orders.retrieve(client: client) }
  end

  SECRET = "whsec_#{Base64.strict_encode64('k' * 32)}".freeze
  BODY = '{"id":"ord_1","value":"9.99"}'.freeze

  def signed_headers(body, at: Time.now.to_i, id: "log_1")
    key = Base64.decode64(SECRET.delete_prefix("whsec_"))
    signature = Base64.strict_encode64(OpenSSL::HMAC.digest("SHA256", key, "#{id}.#{at}.#{body}"))
    { "Webhook-Id" => id, "Webhook-Timestamp" => at.to_s, "Webhook-Signature" => "v1,bm90IGl0 v1,#{signature}" }
  end

  def test_standard_webhooks_v1_accepts_its_signature_and_refuses_a_change_or_a_replay
    assert_equal({ "id" => "ord_1", "value" => "9.99" }, PushGuard::Webhooks.verify(BODY, signed_headers(BODY), secret: SECRET))
    rack = signed_headers(BODY).to_h { |k, v| ["HTTP_#{k.upcase.tr('-', '_')}", v] }
    assert PushGuard::Webhooks.verify(BODY, rack, secret: SECRET), "a Rack env"
    assert_raises(PushGuard::SignatureVerificationError) do
      PushGuard::Webhooks.verify(BODY.sub("9.99", "0.01"), signed_headers(BODY), secret: SECRET)
    end
    assert_raises(PushGuard::SignatureVerificationError) do
      PushGuard::Webhooks.verify(BODY, signed_headers(BODY, at: Time.now.to_i - 301), secret: SECRET)
    end
    assert_raises(PushGuard::SignatureVerificationError) do
      PushGuard::Webhooks.verify(BODY, {}, secret: SECRET)
    end
  end

  def test_the_original_signature_is_hmac_sha512_of_the_raw_body
    signature = OpenSSL::HMAC.hexdigest("SHA512", SECRET, BODY)
    assert PushGuard::Webhooks.valid_signature?(BODY, signature, SECRET)
    refute PushGuard::Webhooks.valid_signature?(BODY + " ", signature, SECRET)
    refute PushGuard::Webhooks.valid_signature?(BODY, signature[0..-2], SECRET)
    refute PushGuard::Webhooks.valid_signature?(BODY, nil, SECRET)
  end

  def test_v1a_verifies_with_the_public_key_and_nothing_else
    private_key = OpenSSL::PKey.generate_key("ED25519")
    public_key = "whpk_#{Base64.strict_encode64(private_key.public_to_der[-32..])}"
    other = OpenSSL::PKey.generate_key("ED25519")
    other_public = "whpk_#{Base64.strict_encode64(other.public_to_der[-32..])}"
    at = Time.now.to_i
    signature = Base64.strict_encode64(private_key.sign(nil, "log_1.#{at}.#{BODY}"))
    headers = { "webhook-id" => "log_1", "webhook-timestamp" => at.to_s, "webhook-signature" => "v1a,#{signature}" }
    assert PushGuard::Webhooks.verify_v1a(BODY, headers, public_keys: [other_public, public_key])
    assert_raises(PushGuard::SignatureVerificationError) do
      PushGuard::Webhooks.verify_v1a(BODY, headers, public_keys: [other_public])
    end
    assert_raises(PushGuard::SignatureVerificationError) do
      PushGuard::Webhooks.verify_v1a("#{BODY} ", headers, public_keys: [public_key])
    end
  end

  def test_a_list_follows_the_link_the_api_gave
    headers = { "link" => '</api/v2/orders?page=2&per_page=1>; rel="next", </api/v2/orders?page=1&per_page=1>; rel="first"',
                "x-total-count" => "2", "x-total-pages" => "2" }
    list = PushGuard::List.new([{ "id" => "a" }], headers, nil)
    assert list.next_page?
    assert_equal 2, list.total_count
    assert_equal "/api/v2/orders?page=2&per_page=1", list.instance_variable_get(:@next)
    refute PushGuard::List.new([], {}, nil).next_page?
  end
end
