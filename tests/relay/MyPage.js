// My Page as a Relay client writes it: one query, each list a fragment of its own component.
import { graphql } from 'react-relay';

export const query = graphql`
  query MyPageQuery {
    viewer {
      id
      cardNumber
      nameKana
      contactable
      ...MyPageLoans_patron
      ...MyPageHolds_patron
      ...MyPageHolds_cancelled
      ...MyPageCart_patron
      ...MyPageFavorites_patron
      ...MyPageBookshelves_patron
      favoritesCount: favorites(first: 0) { totalCount }
      readingMarathon { target count percent achieved months { year month count } }
    }
  }
`;
