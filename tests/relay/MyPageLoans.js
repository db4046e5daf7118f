// 貸出中一覧: a paginated list (@connection with first/after), refetchable through node(id:).
import { graphql } from 'react-relay';

export const fragment = graphql`
  fragment MyPageLoans_patron on Patron
  @argumentDefinitions(count: { type: "Int", defaultValue: 20 }, cursor: { type: "String" })
  @refetchable(queryName: "MyPageLoansPaginationQuery") {
    loans(first: $count, after: $cursor) @connection(key: "MyPageLoans_loans") {
      __id
      totalCount
      edges {
        node {
          id
          dueDate
          renewalCount
          overdue
          title { id title author }
          renewability { renewable reasons messages }
        }
      }
    }
  }
`;

// 延長: the loan comes back with every field the renewal changed.
export const renewLoan = graphql`
  mutation MyPageLoansRenewMutation($input: RenewLoanInput!) {
    renewLoan(input: $input) {
      errors { code field message }
      loan { id dueDate renewalCount overdue renewability { renewable reasons messages } }
    }
  }
`;
