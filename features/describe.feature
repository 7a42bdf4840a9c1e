@describe @resultcode
Feature: DescribeDataPushResult filters and pages
  DataNames, DataVersions and RegionIds filter (comma-separated lists); PageNumber and PageSize
  page; TotalCount counts every match.

  Background:
    Given a fresh application
    And I have pushed the data files:
      | name  | version |
      | app01 | 1.0     |
      | app01 | 2.0     |
      | app02 | 1.0     |

  @core
  Scenario: without a filter every data file is described
    When I describe the push results
    Then the request succeeds
    And the described data files are "app01 1.0, app01 2.0, app02 1.0"

  @core
  Scenario: DataNames filters by name
    When I describe the push results with:
      | DataNames | {app01} |
    Then the described data files are "app01 1.0, app01 2.0"
    And the TotalCount is 2

  @core
  Scenario: DataVersions filters by version
    When I describe the push results with:
      | DataNames    | {app01},{app02} |
      | DataVersions | 1.0             |
    Then the described data files are "app01 1.0, app02 1.0"
    And the TotalCount is 2

  @core
  Scenario: RegionIds limits the edge nodes described
    Given the target's regions are known
    When I describe the push results with:
      | DataNames | {app01},{app02} |
      | RegionIds | {region1}       |
    Then the described data files are "app01 1.0, app01 2.0, app02 1.0"
    And only the regions "{region1}" are described

  @core
  Scenario: PageSize and PageNumber page through the data files
    When I describe the push results with:
      | DataNames  | {app01},{app02} |
      | PageSize   | 2               |
      | PageNumber | 1               |
    Then the page holds 2 data files
    And the TotalCount is 3
    When I describe the push results with:
      | DataNames  | {app01},{app02} |
      | PageSize   | 2               |
      | PageNumber | 2               |
    Then the page holds 1 data file
    And the TotalCount is 3
    And the pages together describe "app01 1.0, app01 2.0, app02 1.0"

  @extended
  Scenario: a page past the end is empty
    When I describe the push results with:
      | DataNames  | {app01},{app02} |
      | PageSize   | 10              |
      | PageNumber | 5               |
    Then the request succeeds
    And the page holds 0 data files
    And the TotalCount is 3

  @extended
  Scenario: MinDate and MaxDate bound the date of the first push
    When I describe the push results with:
      | MinDate | 2999-01-01 |
    Then the request succeeds
    And the answer describes no data file
    When I describe the push results with:
      | MaxDate | 2000-01-01 |
    Then the request succeeds
    And the answer describes no data file
