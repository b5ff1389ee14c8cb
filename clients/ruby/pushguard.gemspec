require_relative "lib/pushguard/version"

Gem::Specification.new do |spec|
  spec.name = "pushguard"
  spec.version = PushGuard::VERSION
  spec.summary = "PushGuard's API from Ruby, and its webhooks verified"
  spec.description = "Every operation of PushGuard's API as the original API's docs write it " \
                     "(PushGuard::Orders.list(page: 10, per_page: 50)), with retries, idempotency keys, " \
                     "pagination, signed requests and webhook verification. No dependencies beyond Ruby's own."
  spec.authors = ["PushGuard"]
  spec.license = "MIT"
  spec.homepage = "https://pushguard.net"
  spec.required_ruby_version = ">= 3.0"
  spec.files = Dir["lib/**/*.rb"] + ["README.md"]
  spec.require_paths = ["lib"]
end
