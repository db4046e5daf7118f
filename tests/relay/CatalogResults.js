// The search results: @connection with first/after, paged by refetching the query's fragment.
import { graphql } from 'react-relay';

export const fragment = graphql`
  fragment CatalogResults_query on Query
  @argumentDefinitions(
    keyword: { type: "String!" }
    count: { type: "Int", defaultValue: 20 }
    cursor: { type: "String" }
  )
  @refetchable(queryName: "CatalogResultsPaginationQuery") {
    searchCatalog(keyword: $keyword, first: $count, after: $cursor) @connection(key: "CatalogResults_searchCatalog") {
      totalCount
      edges { node { id title author materialType ...CatalogAvailability_title } }
    }
  }
`;
