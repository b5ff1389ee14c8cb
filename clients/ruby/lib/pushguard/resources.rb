module PushGuard
  # The module of `names` below PushGuard (PushGuard::Webhooks::Endpoints), made when
  # first asked for.
  def self.resource(names)
    names.inject(self) do |parent, name|
      if parent.const_defined?(name, false)
        parent.const_get(name, false)
      else
        parent.const_set(name, Module.new)
      end
    end
  end

  # Each operation as a method of its resource: the path's ids first, then keyword
  # arguments (the body, or a GET's query), and `client:` to use another client.
  # Lists answer a PushGuard::List; others the JSON object (nil for no content).
  OPERATIONS.each do |operation|
    resource(operation[:resource]).define_singleton_method(operation[:name]) do |*ids, client: PushGuard.client, **params|
      answer, headers = client.call(operation, ids, params)
      operation[:list] ? List.new(answer, headers, client) : answer
    end
  end

  # The original API's docs write some names otherwise; each works as written there.
  Blacklist = Blacklists
  Category = Categories
  Pay = Payments
  Webhook = Webhooks
  Webhooks::Log = Webhooks::Logs
  # PushGuard::Orders::List(page: 10): the docs' list, called as a constant.
  OPERATIONS.select { |operation| operation[:name] == :list }.each do |operation|
    resource(operation[:resource]).define_singleton_method(:List) { |**params| list(**params) }
  end
end
