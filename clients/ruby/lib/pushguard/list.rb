module PushGuard
  # One page of a list: its items (Enumerable), how many there are in all
  # (total_count, total_pages: page-numbered lists), and the way to the next page,
  # by page number or by cursor as the API's Link header says.
  class List
    include Enumerable

    attr_reader :data, :total_count, :total_pages, :client

    def initialize(data, headers, client)
      @data = data
      @client = client
      @total_count = headers["x-total-count"]&.to_i
      @total_pages = headers["x-total-pages"]&.to_i
      @next = link(headers["link"], "next")
    end

    def each(&block)
      data.each(&block)
    end

    def size
      data.size
    end

    def empty?
      data.empty?
    end

    def next_page?
      !@next.nil?
    end

    # The next page, or nil after the last.
    def next_page
      return nil unless @next

      answer, headers = client.request(:get, @next)
      List.new(answer, headers, client)
    end

    # Every item of this page and of each page after it.
    def auto_paging_each(&block)
      return enum_for(:auto_paging_each) unless block

      page = self
      while page
        page.each(&block)
        page = page.next_page
      end
    end

    private

    def link(header, rel)
      header.to_s.split(",").each do |part|
        target, *attributes = part.split(";").map(&:strip)
        return target.delete_prefix("<").delete_suffix(">") if attributes.include?(%(rel="#{rel}"))
      end
      nil
    end
  end
end
