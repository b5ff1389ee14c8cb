# The gem against a running PushGuard (the integration tests start one and set
# PUSHGUARD_API_BASE, PUSHGUARD_API_KEY and PUSHGUARD_API_EMAIL): the original docs'
# calls as written, a delivery received and verified three ways, pages and cursors,
# errors, an Idempotency-Key kept across a retry, signed requests and a rate limit.
require "minitest/autorun"
require "socket"
require_relative "../lib/PushGuard"

PushGuard.api_base = ENV.fetch("PUSHGUARD_API_BASE")
PushGuard.api_key = ENV.fetch("PUSHGUARD_API_KEY")
PushGuard.api_email = ENV.fetch("PUSHGUARD_API_EMAIL")

# A webhook receiver: each request's headers and raw body, answered 200.
class Receiver
  attr_reader :url, :received

  def initialize
    @server = TCPServer.new("127.0.0.1", 0)
    @url = "http://127.0.0.1:#{@server.addr[1]}"
    @received = Queue.new
    @thread = Thread.new { loop { serve(@server.accept) } }
  end

  def next_delivery(timeout: 20)
    deadline = Time.now + timeout
    loop do
      return @received.pop(true)
    rescue ThreadError
      raise "no delivery within #{timeout} s" if Time.now > deadline

      sleep 0.05
    end
  end

  private

  def serve(socket)
    request_line = socket.gets.to_s
    headers = {}
    while (line = socket.gets) && line != "\r\n"
      name, value = line.split(":", 2)
      headers[name.downcase] = value.to_s.strip
    end
    body = socket.read(headers["content-length"].to_i).to_s
    socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    @received << { path: request_line.split[1], headers: headers, body: body }
  rescue IOError, SystemCallError
    nil
  ensure
    socket.close
  end
end

# A proxy to the API that forwards every request and loses the answer to the first
# POST (the connection closes), as a network would: the client must try again.
class LossyProxy
  attr_reader :url, :keys

  def initialize(upstream)
    @upstream = URI(upstream)
    @server = TCPServer.new("127.0.0.1", 0)
    @url = "http://127.0.0.1:#{@server.addr[1]}/api/v2"
    @keys = []
    @lost = false
    Thread.new { loop { relay(@server.accept) } }
  end

  private

  def relay(socket)
    method, path = socket.gets.to_s.split
    headers = {}
    while (line = socket.gets) && line != "\r\n"
      name, value = line.split(":", 2)
      headers[name.strip] = value.to_s.strip
    end
    body = socket.read(headers.find { |k, _| k.casecmp?("content-length") }&.last.to_i)
    request = Net::HTTP.const_get(method.capitalize).new(path)
    headers.each { |name, value| request[name] = value unless name.casecmp?("host") }
    request.body = body if body && !body.empty?
    response = Net::HTTP.start(@upstream.host, @upstream.port) { |http| http.request(request) }
    if method == "POST"
      @keys << request["Idempotency-Key"]
      unless @lost
        @lost = true
        return # the change is made; its answer never arrives
      end
    end
    socket.write("HTTP/1.1 #{response.code} OK\r\n")
    response.each_header { |name, value| socket.write("#{name}: #{value}\r\n") unless name == "transfer-encoding" || name == "connection" }
    socket.write("Connection: close\r\n\r\n#{response.body}")
  rescue IOError, SystemCallError
    nil
  ensure
    socket.close
  end
end

class LiveTest < Minitest::Test
  def receiver
    @receiver ||= Receiver.new
  end

  def test_the_original_docs_calls_a_delivery_verified_three_ways_and_its_thin_twin
    account = PushGuard::Account.retrieve
    endpoint = PushGuard::Webhooks::Endpoints.create(
      url: "#{receiver.url}/hooks", events: ["order:created", "order:paid"], signature_scheme: "both"
    )
    thin = PushGuard::Webhooks::Endpoints.create(
      url: "#{receiver.url}/thin", events: ["order:paid"], payload: "thin"
    )
    assert_equal endpoint["id"], PushGuard::Webhook::Endpoints.retrieve(endpoint["id"])["id"]
    order = PushGuard::Pay.create(
      title: "PushGuard Pay Example", gateway: "Bitcoin", value: 10.00, currency: "USD",
      white_label: true, email: "buyer@example.com"
    )
    PushGuard::Orders.update(order["id"], status: 100)

    deliveries = Array.new(3) { receiver.next_delivery }
    full = deliveries.select { |d| d[:path] == "/hooks" }
    assert_equal %w[order:created order:paid], full.map { |d| d[:headers]["x-pushguard-event"] }.sort
    full.each do |delivery|
      body, headers = delivery[:body], delivery[:headers]
      assert PushGuard::Webhooks.valid_signature?(body, headers["x-pushguard-signature"], endpoint["secret"])
      assert_equal order["id"], PushGuard::Webhooks.verify(body, headers, secret: endpoint["secret"])["id"]
      event = PushGuard::Webhooks.verify_v1a(body, headers, account_id: account["id"], mode: "test")
      assert_equal order["id"], event["id"]
      assert_raises(PushGuard::SignatureVerificationError) do
        PushGuard::Webhooks.verify(body.sub(order["id"], "ord_forged"), headers, secret: endpoint["secret"])
      end
      assert_raises(PushGuard::SignatureVerificationError) do
        PushGuard::Webhooks.verify(body, headers, secret: endpoint["secret"], now: Time.now + 600)
      end
    end
    thin_delivery = deliveries.find { |d| d[:path] == "/thin" }
    event = PushGuard::Webhooks.verify(thin_delivery[:body], thin_delivery[:headers], secret: thin["secret"])
    assert_equal({ "type" => "order", "id" => order["id"] }, event["resource"])
    current = PushGuard::Webhooks.fetch_resource(event)
    assert_equal [order["id"], 100], [current["id"], current["status"]]
    log = PushGuard::Webhook::Log.retrieve(full.first[:headers]["x-pushguard-webhook"])
    assert_equal endpoint["id"], log["endpoint_id"]
  end

  def test_lists_page_by_number_and_by_cursor
    made = Array.new(5) do |n|
      PushGuard::Products.create(title: "Paged #{n}", price: "1.00", currency: "USD", gateways: ["paypal"])["id"]
    end
    first = PushGuard::Products.list(per_page: 2)
    assert_equal 2, first.size
    assert_operator first.total_count, :>=, 5
    every = first.auto_paging_each.map { |product| product["id"] }
    assert_equal every.uniq, every
    assert_empty made - every
    by_cursor = PushGuard::Products.list(per_page: 2, starting_after: every.first).auto_paging_each.map { |p| p["id"] }
    assert_equal every.drop(1), by_cursor
    assert_kind_of PushGuard::List, PushGuard::Orders::List(page: 1, per_page: 50)
  end

  def test_errors_carry_the_apis_message_and_each_problem_in_the_callers_language
    error = assert_raises(PushGuard::InvalidRequestError) { PushGuard::Products.create(title: "x") }
    assert_equal [400, "Validation failed"], [error.status, error.message]
    assert_includes error.errors, "Title is too short (minimum is 2 characters)"
    spanish = PushGuard::Client.new(api_key: PushGuard.api_key, api_base: PushGuard.api_base, language: "es")
    error = assert_raises(PushGuard::InvalidRequestError) { PushGuard::Products.create(title: "x", client: spanish) }
    assert_includes error.errors, "El campo title es demasiado corto (el mínimo es de 2 caracteres)"
    assert_raises(PushGuard::NotFoundError) { PushGuard::Products.retrieve("prd_01J00000000000000000000000") }
    wrong = PushGuard::Client.new(api_key: "pg_test_wrong", api_base: PushGuard.api_base)
    assert_raises(PushGuard::AuthenticationError) { PushGuard::Account.retrieve(client: wrong) }
  end

  def test_a_post_whose_answer_is_lost_is_sent_again_with_its_key_and_made_once
    proxy = LossyProxy.new(PushGuard.api_base)
    through = PushGuard::Client.new(api_key: PushGuard.api_key, api_email: PushGuard.api_email, api_base: proxy.url)
    before = PushGuard::Categories.list(per_page: 1).total_count
    category = PushGuard::Category.create(title: "Made once", client: through)
    assert_equal 2, proxy.keys.size, "the POST was sent twice"
    assert_equal 1, proxy.keys.uniq.size, "with one Idempotency-Key"
    assert_equal before + 1, PushGuard::Categories.list(per_page: 1).total_count
    assert_equal "Made once", PushGuard::Categories.retrieve(category["id"])["title"]
  end

  def test_a_signing_key_signs_every_request
    key = PushGuard::Account::Keys.create(name: "signed", scopes: ["account:read"], mode: "test", require_signed: true)
    signed = PushGuard::Client.new(api_key: key["key"], api_base: PushGuard.api_base, signing_secret: key["signing_secret"])
    assert_equal PushGuard::Account.retrieve["id"], PushGuard::Account.retrieve(client: signed)["id"]
    unsigned = PushGuard::Client.new(api_key: key["key"], api_base: PushGuard.api_base)
    assert_raises(PushGuard::AuthenticationError) { PushGuard::Account.retrieve(client: unsigned) }
  end

  def test_a_rate_limit_is_waited_out_or_raised
    endpoint = PushGuard::Webhooks::Endpoints.create(url: "#{receiver.url}/limited", events: ["order:paid"])
    impatient = PushGuard::Client.new(api_key: PushGuard.api_key, api_base: PushGuard.api_base, max_retries: 0)
    error = assert_raises(PushGuard::RateLimitError) do
      10.times { PushGuard::Webhooks::Endpoints.test(endpoint["id"], client: impatient) }
    end
    assert_equal 429, error.status
    assert_match(/\A\d+\z/, error.headers["retry-after"])
    answer = PushGuard::Webhooks::Endpoints.test(endpoint["id"])
    assert answer.key?("delivered"), "waited out with Retry-After, then sent"
  end
end
