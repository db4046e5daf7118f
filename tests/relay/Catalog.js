// 資料を探す: a paginated search and a title whose availability can be refetched on its own.
import { graphql } from 'react-relay';

export const query = graphql`
  query CatalogSearchQuery($keyword: String!) {
    ...CatalogResults_query @arguments(keyword: $keyword)
  }
`;

export const availability = graphql`
  fragment CatalogAvailability_title on Title @refetchable(queryName: "CatalogAvailabilityRefetchQuery") {
    id
    holdable
    availability { copies available onLoan holdsWaiting }
  }
`;
